/*
 * The agent workbench (home page): mounts the CCC softphone SDK and glues it to the CRM.
 *
 * - Softphone: `new WorkbenchSdk({...})` with the config, hooks and status codes of Alibaba
 *   Cloud CCC's softphone SDK: 1.x (doc 63063) or, with API 2020-07-01, 2.x (regionId, object
 *   hooks; docs/ccc-2x.md). One adapter per SDK version feeds the same screen pop and call log:
 *   1.x hooks directly, 2.x hooks through `hooks2x` (the call's id is the jobId).
 * - Screen pop: onCallComing(connid, caller, callee, contactId, skillgroupId) looks the caller up
 *   (GET /customers/lookup?number=) and opens the customer, a chooser, or a prefilled new-customer
 *   form in the CRM frame. Only the newest call's lookup may pop: older answers are dropped.
 * - Click-to-dial: CRM pages (workbench/static/workbench/crm-page.js) call window.crmWorkbench.dial(number).
 * - Call log: every hook is posted to the call-log endpoint (JSON, CSRF header), once per event,
 *   one at a time, retried on network errors; the server merges them per (agent, contact id).
 * - Navigation: CRM pages load in the same-origin frame, so the call survives; leaving or
 *   reloading the workbench during a call asks first (beforeunload).
 * Configuration comes from the page (json_script #workbench-config), never from generated JS.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("workbench-config").textContent);

  // The workbench inside its own frame (e.g. a redirect after signing in again): show the CRM
  // page instead of a second softphone.
  if (window.top !== window.self) {
    window.location.replace(cfg.fallbackUrl);
    return;
  }

  // CCC 2.x (API 2020-07-01) status codes differ: 2 is break, there is no "signed in, not
  // ready", and 11/16/17/20/21 are further call states (docs/ccc-2x.md).
  var V2 = cfg.apiVersion === "2020-07-01";
  var READY = 3, BREAK = V2 ? 2 : 4, AFTER_CALL_WORK = 5, SIGNED_IN = V2 ? null : 2;
  var CAN_DIAL = [READY, BREAK, AFTER_CALL_WORK];
  var ON_CALL = V2  // ringing, dialing, inbound/outbound talk, hold (2.x: internal, 3-way...)
    ? [6, 8, 9, 10, 11, 12, 16, 17, 20, 21] : [6, 8, 9, 10, 12];
  var OUTCOMES = {
    ringing: "Ringing", talking: "On the call", completed: "Completed", missed: "Missed",
    no_answer: "Not answered"
  };
  var ANONYMOUS = /^(anonymous|unknown|private|restricted|withheld|unavailable)$/i;

  var frame = document.getElementById("crm-frame");
  var noticeEl = document.getElementById("wb-notice");
  var pop = document.getElementById("screen-pop");
  var panel = document.getElementById("softphone-panel");
  var toggle = document.getElementById("softphone-toggle");

  var status = -1;          // last status code from onStatusChange
  var calls = {};           // connid -> {connid, contactId, direction, caller, callee, record}
  var popSeq = 0;           // bumped by every screen pop; a lookup answers only its own
  var workbench = null;

  var noticeFrom = "";      // what said the notice shown ("call-log"...), to clear it later

  // Tell the agent something under the softphone: kind "info" (neutral) or "error" (red).
  function notice(text, kind, from) {
    noticeEl.textContent = text || "";
    noticeEl.setAttribute("data-kind", kind || "info");
    noticeFrom = text ? from || "" : "";
  }

  function clearNotice(from) {
    if (noticeFrom === from) notice("");
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // A same-origin path of a URL (the lookup answers absolute URLs).
  function localPath(url) {
    var u = new URL(url, window.location.href);
    return u.origin === window.location.origin ? u.pathname + u.search : null;
  }

  function openInFrame(url) {
    var path = localPath(url);
    if (path && frame) frame.src = path;
  }

  // --- call log ---------------------------------------------------------------------------------

  var pending = 0;          // call-log posts not yet answered

  function send(body, attempt) {
    return fetch(cfg.callLogUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrfToken },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.ok) return data.call;
        if (resp.status >= 500 && attempt < 3) throw new Error("retry");
        throw new Error(data.error || "The call log answered " + resp.status + ".");
      });
    }).catch(function (err) {
      if (attempt < 3 && (err.message === "retry" || err instanceof TypeError)) {
        return new Promise(function (resolve) {
          window.setTimeout(resolve, 1000 * attempt);
        }).then(function () { return send(body, attempt + 1); });
      }
      throw err;
    });
  }

  // Post one event of `call`. Events go one at a time, in the order the hooks fired: a call's
  // events never overtake each other, and the server never merges two of ours at once.
  var queue = Promise.resolve();

  function logEvent(call, event, extra) {
    var body = Object.assign({
      event: event,
      contactId: call.contactId || call.connid,
      connid: call.connid,
      direction: call.direction,
      caller: call.caller,
      callee: call.callee,
      at: new Date().toISOString()
    }, extra || {});
    pending += 1;
    queue = queue.then(function () {
      return send(body, 1);
    }).finally(function () {
      pending -= 1;
    }).then(function (record) {
      if (record) {
        call.record = record;
        showRecord(call);
      }
      return record;
    }, function (err) {
      call.logError = err.message;  // the server's reason, for the form that sent it
      notice("Call log: " + err.message, "error", "call-log");
      return null;
    });
    return queue;
  }

  // --- screen pop -------------------------------------------------------------------------------

  var popTitle = pop.querySelector(".wb-pop-title");
  var popNumber = pop.querySelector(".wb-pop-number");
  var popOutcome = pop.querySelector(".wb-pop-outcome");
  var popBody = pop.querySelector(".wb-pop-body");
  var wrapup = pop.querySelector(".wb-wrapup");
  var wrapupStatus = pop.querySelector(".wb-wrapup-status");

  function callKey(call) {
    return call.contactId || call.connid;
  }

  // The pop belongs to one call at a time (data-contact-id).
  function showPop(title, number, kind, call) {
    if (pop.getAttribute("data-contact-id") !== callKey(call)) {
      saveUnsavedNotes();
      pop.setAttribute("data-contact-id", callKey(call));
      pop.removeAttribute("data-outcome");
      popOutcome.textContent = "";
      wrapup.hidden = true;  // the previous call's wrap-up form; its notes were saved or not
    }
    pop.hidden = false;
    pop.setAttribute("data-kind", kind);
    popTitle.textContent = title;
    popNumber.textContent = number || "";
    popBody.textContent = "";
  }

  // The call log's answer for the call in the pop: its outcome and talk time.
  function showRecord(call) {
    var record = call.record;
    if (!record || pop.getAttribute("data-contact-id") !== callKey(call)) return;
    pop.setAttribute("data-outcome", record.outcome);
    popOutcome.textContent = OUTCOMES[record.outcome] || record.outcome;
    if (record.endedAt && record.answeredAt) popOutcome.textContent += ", " + record.duration + " s";
  }

  function customerLine(match) {
    return match.name + (match.company ? " \u00b7 " + match.company : "");
  }

  // Withheld or missing: the only numbers decided here. Whether the rest is a phone number is the
  // server's call (its normalization reads full-width and other Unicode digits): ask the lookup.
  function withheld(number) {
    return !number || ANONYMOUS.test(number);
  }

  // GET the customers with `number`: {ok, status, data: {matches: [{id, name, company, url}]}};
  // status 400 means "not a phone number".
  function lookup(number) {
    return fetch(cfg.lookupUrl + "?number=" + encodeURIComponent(number), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (resp) {
      return resp.json().then(function (data) {
        return { ok: resp.ok, status: resp.status, data: data };
      });
    });
  }

  function showAnonymous(number, call) {
    showPop("Anonymous caller", number ? "Caller number: " + number : "No caller number",
      "anonymous", call);
    popBody.appendChild(el("p", {}, "The caller's number is withheld or not a phone number: " +
      "ask who is calling and search the customer list."));
    openInFrame(cfg.fallbackUrl);  // never leave another caller's customer on show
  }

  // An outbound call: name the customer being called (the agent is on their page already).
  function describeCallee(call) {
    var seq = call.popSeq, number = (call.callee || "").trim();
    if (!cfg.canViewCustomers || withheld(number)) return;
    lookup(number).then(function (answer) {
      var matches = answer.ok && answer.data.matches || [];
      if (seq === popSeq && matches.length === 1) {
        popBody.appendChild(el("p", { "class": "wb-pop-customer" }, customerLine(matches[0])));
      }
    }, function () { /* the number stays shown */ });
  }

  function screenPop(call) {
    var seq = ++popSeq;
    var number = (call.caller || "").trim();
    call.popSeq = seq;
    if (withheld(number)) {
      showAnonymous(number, call);
      return Promise.resolve();
    }
    if (!cfg.canViewCustomers) {
      showPop("Incoming call", number, "no-lookup", call);
      return Promise.resolve();
    }
    showPop("Incoming call", number, "looking", call);
    popBody.appendChild(el("p", { "class": "muted" }, "Looking up the caller\u2026"));
    return lookup(number).then(function (answer) {
      if (seq !== popSeq) return;  // a newer call popped meanwhile: never pop the wrong customer
      if (answer.status === 400) {
        showAnonymous(number, call);
        return;
      }
      if (!answer.ok) {
        showPop("Incoming call", number, "error", call);
        popBody.appendChild(el("p", { "class": "error" }, answer.data.error || "Lookup failed."));
        return;
      }
      var matches = answer.data.matches || [];
      if (matches.length === 1) {
        showPop("Incoming call", number, "customer", call);
        popBody.appendChild(el("p", { "class": "wb-pop-customer" }, customerLine(matches[0])));
        openInFrame(matches[0].url);
      } else if (matches.length > 1) {
        showPop("Incoming call: " + matches.length + " customers have this number", number,
          "chooser", call);
        var list = el("ul", { "class": "wb-chooser" });
        matches.forEach(function (m) {
          var item = el("li");
          var b = el("button", { type: "button", "class": "secondary", "data-id": String(m.id) },
            customerLine(m));
          b.addEventListener("click", function () {
            openInFrame(m.url);
            logEvent(call, "customer", { customerId: m.id });
            list.querySelectorAll("button").forEach(function (x) {
              x.setAttribute("aria-pressed", String(x === b));
            });
          });
          item.appendChild(b);
          list.appendChild(item);
        });
        popBody.appendChild(list);
        // The frame shows all of them until the agent picks one, never the last caller's page.
        openInFrame(cfg.byPhoneUrl + encodeURIComponent(number));
      } else {
        showPop("Unknown caller", number, "unknown", call);
        popBody.appendChild(el("p", {}, "No customer has this number: the new-customer form " +
          "is open with it."));
        openInFrame(cfg.createUrl + "?phone=" + encodeURIComponent(number) +
          "&call=" + encodeURIComponent(call.contactId || call.connid));
      }
    }, function () {
      if (seq === popSeq) {
        popBody.textContent = "";
        popBody.appendChild(el("p", { "class": "error" }, "The customer lookup failed."));
      }
    });
  }

  var wrapupCall = null;    // the call the wrap-up form is for
  var wrapupDirty = false;  // typed but not saved

  wrapup.notes.addEventListener("input", function () { wrapupDirty = true; });

  // A new call takes the pop while notes of the last one are typed but not saved: save them.
  function saveUnsavedNotes() {
    if (wrapupCall && wrapupDirty && !wrapup.hidden && wrapup.notes.value.trim()) {
      logEvent(wrapupCall, "notes", { notes: wrapup.notes.value });
    }
    wrapupDirty = false;
  }

  function showWrapup(call) {
    if (call.popSeq && call.popSeq !== popSeq) return;  // another call owns the pop now
    if (pop.hidden || pop.getAttribute("data-contact-id") !== callKey(call)) {
      showPop("Call ended", call.direction === "inbound" ? call.caller : call.callee, "ended",
        call);
    } else {
      popTitle.textContent = "Call ended";
    }
    showRecord(call);
    wrapup.hidden = false;
    wrapup.notes.value = "";
    wrapupCall = call;
    wrapupDirty = false;
    wrapupStatus.textContent = "";
    // Not while the agent types in a CRM page (e.g. the new-customer form in the frame).
    if (document.activeElement === document.body) wrapup.notes.focus();
    wrapup.onsubmit = function (event) {
      event.preventDefault();
      wrapupDirty = false;
      wrapupStatus.textContent = "Saving\u2026";
      call.logError = "";
      logEvent(call, "notes", { notes: wrapup.notes.value }).then(function (record) {
        if (!record) {
          // The typed notes stay in the form, to be corrected and sent again.
          wrapupDirty = true;
          wrapupStatus.textContent = "Not saved" + (call.logError ? ": " + call.logError : ".");
          return;
        }
        wrapupStatus.textContent = "Saved.";
        // Show the note on the customer's page if it is the one in the frame.
        try {
          var here = frame.contentWindow.location.pathname;
          if (/^\/customers\/\d+\/$/.test(here)) frame.contentWindow.location.reload();
        } catch (e) { /* the frame left the CRM: nothing to refresh */ }
      });
    };
  }

  // --- softphone hooks (1.x, positional) --------------------------------------------------------

  function track(connid, fields) {
    var call = calls[connid] || { connid: connid };
    Object.keys(fields).forEach(function (k) {
      if (fields[k] != null && fields[k] !== "") call[k] = fields[k];
    });
    calls[connid] = call;
    return call;
  }

  var hooks = {
    onCallComing: function (connid, caller, callee, contactId) {
      var call = track(connid, {
        direction: "inbound", caller: caller || "", callee: callee || "", contactId: contactId
      });
      clearNotice("call-log");  // the last call's log trouble is not this call's
      logEvent(call, "ringing");
      screenPop(call);
    },
    onCallDialing: function (connid, caller, callee, contactId) {
      var call = track(connid, {
        direction: "outbound", caller: caller || "", callee: callee || "", contactId: contactId
      });
      dialPending = false;
      clearNotice("call-log");
      call.popSeq = ++popSeq;
      showPop("Calling", callee, "dialing", call);
      describeCallee(call);
      logEvent(call, "dialing");
    },
    onCallEstablish: function (connid, caller, privateData) {
      var data = privateData || {};
      var call = track(connid, {
        caller: caller, contactId: data.contactId, callee: data.callee, direction: data.direction
      });
      if (!call.direction) call.direction = "inbound";
      if (call.popSeq === popSeq && !pop.hidden) {
        popTitle.textContent = call.direction === "inbound" ? "On a call with" : "Calling";
      }
      logEvent(call, "answered");
    },
    onCallRelease: function (connid, caller, contactId) {
      var call = calls[connid] || track(connid, {
        caller: caller, contactId: contactId, direction: "inbound"
      });
      delete calls[connid];
      dialPending = false;
      logEvent(call, "released");
      showWrapup(call);
    },
    onStatusChange: function (code) {
      status = code;
      if (code !== READY && code !== BREAK && code !== AFTER_CALL_WORK) dialPending = false;
      document.body.setAttribute("data-softphone-status", String(code));
      // "ready" exactly while the agent is Ready to take calls (benchmarks/softphone_ready.py).
      document.documentElement.dataset.softphone = code === READY ? "ready" : "";
      if (CAN_DIAL.indexOf(code) >= 0 || code === SIGNED_IN) notice("");
    },
    onErrorNotify: function (error) {
      dialPending = false;
      if (error && error.errorCode === "NotAuthenticated") {
        notice("Your Alibaba Cloud account is not linked any more: link it again.", "error");
      } else if (error && error.errorCode === "LoginRequired") {
        // The CRM sign-in ended (e.g. signed out in another tab): the softphone stops polling.
        notice("Your CRM sign-in has ended: reload the page and sign in again.", "error");
      }
    }
  };

  // --- softphone hooks (2.x, one object) -------------------------------------------------------
  // The 2.x adapter: each hook's callDetail / callContext becomes the 1.x hook's arguments, so
  // screen pop, chooser, call log and wrap-up are one code path. The call's id is the jobId
  // (docs/ccc-2x.md): it is both the connid and the contact id of the call log.

  var CALL_TYPES = { INBOUND: "inbound", OUTBOUND: "outbound" };

  // {jobId, direction, caller, callee} of a 2.x CallContext; the first channel names the two
  // parties (Originator calls Destination). Missing fields stay empty, never an error.
  function fromContext(context) {
    var c = context || {};
    var channel = (c.ChannelContexts || [])[0] || {};
    return {
      jobId: c.JobId || channel.JobId || "",
      direction: CALL_TYPES[c.CallType] || CALL_TYPES[channel.CallType] || "",
      caller: channel.Originator || "",
      callee: channel.Destination || ""
    };
  }

  // A live call first seen when established (the workbench reloaded mid-call and resumed it):
  // pop it again, the caller looked up anew, so the card or chooser is back and the call log
  // gets its customer.
  function restorePop(call) {
    if (!call) return;
    if (call.direction === "outbound") {
      call.popSeq = ++popSeq;
      showPop("Calling", call.callee, "dialing", call);
      describeCallee(call);
    } else {
      screenPop(call);
    }
  }

  var hooks2x = {
    onCallComing: function (detail) {
      var d = detail || {}, c = fromContext(d.callContext), jobId = d.jobId || c.jobId;
      if (jobId) hooks.onCallComing(jobId, d.caller || c.caller, d.callee || c.callee, jobId);
    },
    onCallDialing: function (detail) {
      var d = detail || {}, c = fromContext(d.callContext), jobId = d.jobId || c.jobId;
      if (!jobId) { dialPending = false; return; }
      hooks.onCallDialing(jobId, d.caller || c.caller, d.callee || c.callee, jobId);
    },
    onCallEstablish: function (detail) {
      var c = fromContext(detail && detail.callContext);
      if (!c.jobId) return;
      // A call first seen here (the workbench reloaded mid-call) takes its parties from the
      // context; a known call keeps those its ringing or dialing hook gave.
      var known = calls[c.jobId];
      hooks.onCallEstablish(c.jobId, known ? null : c.caller, {
        contactId: c.jobId, direction: known ? null : c.direction,
        callee: known ? null : c.callee
      });
      if (!known) restorePop(calls[c.jobId]);
    },
    onCallRelease: function (detail) {
      var c = fromContext(detail && detail.callContext);
      dialPending = false;
      if (!c.jobId) return;
      if (!calls[c.jobId]) {
        track(c.jobId, {
          contactId: c.jobId, direction: c.direction || "inbound", caller: c.caller,
          callee: c.callee
        });
      }
      hooks.onCallRelease(c.jobId, c.caller, c.jobId);
    },
    onStatusChange: function (detail) { hooks.onStatusChange(detail && detail.code); },
    onErrorNotify: hooks.onErrorNotify
  };

  if (cfg.linked && typeof window.WorkbenchSdk === "function") {
    var sdkConfig = {
      dom: "softphone",
      instanceId: cfg.instanceId,
      ajaxPath: cfg.ajaxPath,
      ajaxMethod: cfg.ajaxMethod,
      ajaxHeaders: { "X-CSRFToken": cfg.csrfToken },
      header: true
    };
    if (V2) sdkConfig.regionId = cfg.regionId;
    workbench = new window.WorkbenchSdk(Object.assign(sdkConfig, V2 ? hooks2x : hooks));
    window.workbench = workbench;
  } else if (cfg.linked) {
    notice("The softphone could not be loaded; check the network and reload the page.", "error");
  }

  // --- click-to-dial (called by CRM pages in the frame) -----------------------------------------

  function statusNow() {
    return workbench && typeof workbench.getStatusCode === "function"
      ? workbench.getStatusCode() : status;
  }

  var DIALING = 8;
  var dialPending = false;  // a call() not yet answered by onCallDialing/onCallRelease/an error
  var dialTimer = null;

  /** Dial `number` (digits as an agent types them). Returns {ok, reason}; while a dial is pending
   * or dialing, further clicks are ignored: {ok: false, reason: ""}. */
  function dial(number, label) {
    var reason = null, s = statusNow();
    if (dialPending || s === DIALING) return { ok: false, reason: "" };  // e.g. a double click
    if (!cfg.linked) reason = "Not linked: link your Alibaba Cloud account to make calls.";
    else if (!workbench) reason = "The softphone is not loaded.";
    else if (ON_CALL.indexOf(s) >= 0) reason = "You are on a call: hang up first.";
    else if (s === SIGNED_IN) reason = "You are signed in but not ready: press Ready first.";
    else if (CAN_DIAL.indexOf(s) < 0) reason = "Not signed in: sign in to the softphone first.";
    if (reason) {
      notice(reason, "error");
      return { ok: false, reason: reason };
    }
    notice("Calling " + (label || number) + "\u2026", "info");
    dialPending = true;
    window.clearTimeout(dialTimer);  // a softphone that never answers must not block dialing
    dialTimer = window.setTimeout(function () { dialPending = false; }, 15000);
    workbench.call(number);
    return { ok: true, reason: "" };
  }

  window.crmWorkbench = {
    dial: dial,
    status: statusNow,
    open: openInFrame,
    /** Call-log events posted but not yet answered (0 when the log is up to date). */
    pending: function () { return pending; }
  };

  // --- the panel, navigation --------------------------------------------------------------------

  toggle.addEventListener("click", function () {
    var visible = panel.hidden;
    panel.hidden = !visible;
    document.body.classList.toggle("wb-panel-open", visible);  // the frame makes room for it
    toggle.setAttribute("aria-expanded", String(visible));
    if (workbench && typeof workbench.changeVisible === "function") workbench.changeVisible(visible);
  });

  window.addEventListener("beforeunload", function (event) {
    if (ON_CALL.indexOf(statusNow()) >= 0) {
      event.preventDefault();
      event.returnValue = "";  // the browser asks "Leave site?": the call would be cut
    }
  });

  // Keep the address bar on the CRM page shown, so a reload (when not on a call) returns there.
  if (frame) frame.addEventListener("load", function () {
    try {
      var here = frame.contentWindow.location;
      if (here.origin === window.location.origin && here.pathname !== cfg.homeUrl) {
        window.history.replaceState(null, "",
          cfg.homeUrl + "?page=" + encodeURIComponent(here.pathname + here.search));
      }
    } catch (e) { /* not the CRM's origin: leave the address as it is */ }
  });
})();
