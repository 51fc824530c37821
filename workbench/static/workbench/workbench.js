/*
 * The agent console (home page): mounts the CCC softphone SDK, drives it from the call bar and
 * glues it to the CRM.
 *
 * - Softphone: `new WorkbenchSdk({...})` with the config, hooks and status codes of Alibaba
 *   Cloud CCC's softphone SDK: 1.x (doc 63063) or, with API 2020-07-01, 2.x (regionId, object
 *   hooks; docs/ccc-2x.md). One adapter per SDK version feeds the same screen pop and call log:
 *   1.x hooks directly, 2.x hooks through `hooks2x` (the call's id is the jobId). The SDK's own
 *   panel stays available under "Softphone" (skill groups, devices); the call bar calls the
 *   SDK's public methods (register, ready, applyForBreak, logOut, answer, hangUp, callHold,
 *   callRetrieve, muteAgent/umMuteAgent, thirdCallTransfer, sendDtmf, call).
 * - Call bar: the agent's state (a selector), the current call (party, customer, direction, a
 *   timer), one primary action (Answer, then Hang up), Hold, Mute, Transfer, a keypad on demand.
 *   Its words come from the softphone's status code, so it never contradicts the call state.
 *   `document.documentElement.dataset.softphone` is "ready" exactly while the agent is Ready.
 * - Screen pop: onCallComing(connid, caller, callee, contactId, skillgroupId) looks the caller up
 *   (GET /customers/lookup?number=) and opens the customer, a chooser, or a prefilled new-customer
 *   form in the CRM frame. Only the newest call's lookup may pop: older answers are dropped.
 * - After-call work: each ended call gets its own wrap-up form; its draft is kept per call in
 *   localStorage (a new call or a reload never wipes it); another tab editing the same call's
 *   notes is detected and said.
 * - Click-to-dial: CRM pages (workbench/static/workbench/crm-page.js) call window.crmWorkbench.dial(number).
 * - Call log: every hook is posted to the call-log endpoint (JSON, CSRF header), once per event,
 *   one at a time, retried on network errors; the server merges them per (agent, contact id).
 * - Navigation: CRM pages load in the same-origin frame, so the call survives; leaving or
 *   reloading the console during a call asks first (beforeunload), the language switch does not.
 *   After a reload the tab signs the softphone in again as it was (sessionStorage), resuming a
 *   live call with its kept start time. A second tab of the agent stays passive (BroadcastChannel)
 *   until "Use this tab"; signing out during a call asks first.
 * Configuration comes from the page (json_script #workbench-config), never from generated JS.
 * Words go through Django's JavaScript catalogue (gettext, /jsi18n/).
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("workbench-config").textContent);

  // The console inside its own frame (e.g. a redirect after signing in again): show the CRM
  // page instead of a second softphone.
  if (window.top !== window.self) {
    window.location.replace(cfg.fallbackUrl);
    return;
  }

  // Django's JavaScript catalogue (/jsi18n/), or the English words when it did not load.
  var gettext = typeof window.gettext === "function" ? window.gettext : function (s) { return s; };
  function fmt(text, values) {
    return typeof window.interpolate === "function" ? window.interpolate(text, values, true)
      : text.replace(/%\((\w+)\)s/g, function (m, k) { return values[k]; });
  }

  // CCC 2.x (API 2020-07-01) status codes differ: 2 is break, there is no "signed in, not
  // ready", and 11/16/17/20/21 are further call states (docs/ccc-2x.md).
  var V2 = cfg.apiVersion === "2020-07-01";
  var UNREGISTERED = -1, REGISTERING = 0, OFFLINE = 1;
  var READY = 3, BREAK = V2 ? 2 : 4, AFTER_CALL_WORK = 5, SIGNED_IN = V2 ? null : 2;
  var RINGING = 6, DIALING = 8, HOLD = 12;
  var CAN_DIAL = [READY, BREAK, AFTER_CALL_WORK];
  var ON_CALL = V2  // ringing, dialing, inbound/outbound talk, hold (2.x: internal, 3-way...)
    ? [6, 8, 9, 10, 11, 12, 16, 17, 20, 21] : [6, 8, 9, 10, 12];
  var TALKING = V2 ? [9, 10, 11, 16, 17, 20, 21] : [9, 10];
  var OUTCOMES = {
    ringing: gettext("Ringing"), talking: gettext("On the call"), completed: gettext("Completed"),
    missed: gettext("Missed"), no_answer: gettext("Not answered")
  };
  var ANONYMOUS = /^(anonymous|unknown|private|restricted|withheld|unavailable)$/i;

  var frame = document.getElementById("crm-frame");
  var noticeEl = document.getElementById("wb-notice");
  var pop = document.getElementById("screen-pop");
  var panel = document.getElementById("softphone-panel");
  var toggle = document.getElementById("softphone-toggle");
  var bar = document.getElementById("callbar");
  var idleCard = document.getElementById("wb-idle");
  var wrapups = document.getElementById("wrapups");

  var status = -1;          // last status code from onStatusChange
  var calls = {};           // connid -> {connid, contactId, direction, caller, callee, record}
  var current = null;       // the call the bar shows (the newest live one)
  var popSeq = 0;           // bumped by every screen pop; a lookup answers only its own
  var workbench = null;
  var passive = false;      // the console is used in another tab of this agent: hands off
  var leaving = false;      // the agent chose to leave (language switch, confirmed sign-out)
  // This tab's softphone state before a reload (sessionStorage; see restoreState).
  var SESSION = "crmdemo-console:" + cfg.agent;
  var wasState = null;
  try {
    wasState = (JSON.parse(window.sessionStorage.getItem(SESSION) || "null") || {}).state || null;
  } catch (e) { /* storage off */ }

  var noticeFrom = "";      // what said the notice shown ("call-log"...), to clear it later
  var noticeTimer = null;

  // Tell the agent something in the call bar: kind "info" (neutral, goes away by itself after
  // a while) or "error" (red, stays until something newer is said).
  function notice(text, kind, from) {
    window.clearTimeout(noticeTimer);
    noticeEl.textContent = text || "";
    noticeEl.setAttribute("data-kind", kind || "info");
    noticeFrom = text ? from || "" : "";
    if (text && kind !== "error" && from !== "dial") {
      noticeTimer = window.setTimeout(function () { notice(""); }, 8000);
    }
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

  // A phone number for the eye: as the CRM's pages show it (the lookup's `display`: national in
  // PHONE_DEFAULT_REGION, international otherwise; customers.phones.display_phone), else as the
  // softphone gave it until the lookup has answered.
  var shownNumbers = {};
  function formatNumber(number) {
    var raw = (number || "").trim();
    return shownNumbers[raw] || raw;
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
        throw new Error(data.error || fmt(gettext("the call log answered %(status)s"), { status: resp.status }));
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
        // The customer's page beside shows this call in its recent calls: keep it in step
        // (never "ringing" on the page while the bar says the call is on).
        if (event === "answered" || event === "released") refreshRecentCalls();
      }
      return record;
    }, function (err) {
      call.logError = err.message;  // the server's reason, for the form that sent it
      notice(fmt(gettext("Call log: %(reason)s"), { reason: err.message }), "error", "call-log");
      return null;
    });
    return queue;
  }

  // --- screen pop (the caller's context) -------------------------------------------------------

  var popTitle = pop.querySelector(".wb-pop-title");
  var popNumber = pop.querySelector(".wb-pop-number");
  var popOutcome = pop.querySelector(".wb-pop-outcome");
  var popBody = pop.querySelector(".wb-pop-body");

  function callKey(call) {
    return call.contactId || call.connid;
  }

  function partyOf(call) {
    return call.direction === "outbound" ? call.callee : call.caller;
  }

  // What the call is doing now, in the agent's words; from the softphone's status while the call
  // is the live one, so the card and the bar never contradict it.
  function phaseOf(call) {
    if (!call) return "";
    if (call.ended) return gettext("Call ended");
    if (call !== current) return "";
    if (status === RINGING) return gettext("Incoming call");
    if (status === DIALING) return gettext("Calling\u2026");
    if (status === HOLD) return gettext("On hold");
    if (TALKING.indexOf(status) >= 0 || call.answeredAt) return gettext("On the call");
    return call.direction === "outbound" ? gettext("Calling\u2026") : gettext("Incoming call");
  }

  // The pop belongs to one call at a time (data-contact-id). `title` is what the lookup found
  // (a customer, several, unknown, anonymous); the call's phase is shown before it.
  function showPop(title, number, kind, call) {
    if (pop.getAttribute("data-contact-id") !== callKey(call)) {
      pop.setAttribute("data-contact-id", callKey(call));
      pop.removeAttribute("data-outcome");
      popOutcome.textContent = "";
    }
    pop.hidden = false;
    idleCard.hidden = true;
    pop.setAttribute("data-kind", kind);
    pop.setAttribute("data-title", title || "");
    drawPopTitle();
    popNumber.textContent = number ? formatNumber(number) : "";
    popNumber.title = number || "";
    popBody.textContent = "";
    pop.removeAttribute("data-context-url");
  }

  function popCall() {
    var key = pop.getAttribute("data-contact-id");
    if (current && callKey(current) === key) return current;
    return lastEnded && callKey(lastEnded) === key ? lastEnded : null;
  }

  function drawPopTitle() {
    var call = popCall(), phase = phaseOf(call), title = pop.getAttribute("data-title") || "";
    popTitle.textContent = title && phase ? phase + " \u00b7 " + title : phase || title;
    // The call log's "On the call" under it would contradict "On hold": the live phase instead.
    if (call === current && phase && pop.getAttribute("data-outcome") === "talking") {
      popOutcome.textContent = phase;
    }
  }

  // The call log's answer for the call in the pop: its outcome and talk time.
  function showRecord(call) {
    var record = call.record;
    if (call.wrapup) call.wrapup.setRecord(record);
    if (!record || pop.getAttribute("data-contact-id") !== callKey(call)) return;
    pop.setAttribute("data-outcome", record.outcome);
    popOutcome.textContent = outcomeText(record);
    drawPopTitle();
  }

  // "Completed, 13 s": the outcome and, for an answered call that ended, its talk time.
  function outcomeText(record) {
    var said = OUTCOMES[record.outcome] || record.outcome;
    if (!(record.endedAt && record.answeredAt)) return said;
    return fmt(gettext("%(outcome)s, %(duration)s"), {
      outcome: said, duration: fmt(gettext("%(seconds)s s"), { seconds: record.duration })
    });
  }

  function customerLine(match) {
    return match.name + (match.company ? " \u00b7 " + match.company : "");
  }

  // The pop's customer: name and company, then their notes and newest calls
  // (GET /customers/<id>/context: labels and times in the agent's language), fetched again when
  // wrap-up notes are saved, so the card never shows stale notes.
  function showCustomer(match) {
    popBody.appendChild(el("p", { "class": "wb-pop-customer", dir: "auto" }, customerLine(match)));
    var url = localPath(match.url);
    if (!url) return;
    pop.setAttribute("data-context-url", url + "context");
    popBody.appendChild(el("div", { "class": "wb-pop-context" }));
    loadContext();
  }

  function loadContext() {
    var url = pop.getAttribute("data-context-url"), key = pop.getAttribute("data-contact-id");
    var box = popBody.querySelector(".wb-pop-context");
    if (!url || !box) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) {
        if (!data || pop.getAttribute("data-contact-id") !== key) return;
        box.textContent = "";
        if (data.notes) {
          box.appendChild(el("h3", null, gettext("Customer notes")));
          box.appendChild(el("p", { "class": "wb-pop-notes", dir: "auto" }, data.notes));
        }
        box.appendChild(el("h3", null, gettext("Recent calls")));
        if (!data.calls.length) {
          box.appendChild(el("p", { "class": "muted" }, gettext("No calls yet.")));
          return;
        }
        var list = el("ul", { "class": "wb-pop-calls" });
        data.calls.forEach(function (c) {
          var item = el("li");
          item.appendChild(el("span", { "class": "wb-pop-call-when" }, c.when));
          item.appendChild(document.createTextNode(" " + c.direction + " \u00b7 " + c.outcome));
          if (c.notes) item.appendChild(el("span", { "class": "wb-pop-call-notes", dir: "auto" }, c.notes));
          list.appendChild(item);
        });
        box.appendChild(list);
      }, function () { /* the card keeps what it showed */ });
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
        if (resp.ok && data.display) {
          shownNumbers[(number || "").trim()] = data.display;
          drawBar();
        }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    });
  }

  function named(call, name) {
    call.customerName = name;
    drawBar();
  }

  function showAnonymous(number, call) {
    showPop(gettext("Anonymous caller"), number ? fmt(gettext("Caller number: %(number)s"), { number: number })
      : gettext("No caller number"), "anonymous", call);
    popNumber.textContent = number ? fmt(gettext("Caller number: %(number)s"), { number: number })
      : gettext("No caller number");
    popBody.appendChild(el("p", {}, gettext(
      "The caller's number is withheld or not a phone number: ask who is calling and search the customer list.")));
    named(call, gettext("Anonymous caller"));
    openInFrame(cfg.fallbackUrl);  // never leave another caller's customer on show
  }

  function createButton(number, call) {
    var b = el("button", { type: "button", "class": "secondary wb-create" },
      gettext("Create a customer"));
    b.addEventListener("click", function () {
      openInFrame(cfg.createUrl + "?phone=" + encodeURIComponent(number) +
        "&call=" + encodeURIComponent(callKey(call)));
    });
    return b;
  }

  // An outbound call: name the customer being called (the agent is on their page already).
  function describeCallee(call) {
    var seq = call.popSeq, number = (call.callee || "").trim();
    if (!cfg.canViewCustomers || withheld(number)) return;
    lookup(number).then(function (answer) {
      var matches = answer.ok && answer.data.matches || [];
      if (seq === popSeq && matches.length === 1) {
        showCustomer(matches[0]);
        pop.setAttribute("data-title", matches[0].name);
        named(call, matches[0].name);
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
      showPop("", number, "no-lookup", call);
      return Promise.resolve();
    }
    showPop("", number, "looking", call);
    popBody.appendChild(el("p", { "class": "muted" }, gettext("Looking up the caller\u2026")));
    return lookup(number).then(function (answer) {
      if (seq !== popSeq) return;  // a newer call popped meanwhile: never pop the wrong customer
      if (answer.status === 400) {
        showAnonymous(number, call);
        return;
      }
      if (!answer.ok) {
        showPop("", number, "error", call);
        popBody.appendChild(el("p", { "class": "error" },
          answer.data.error || gettext("The customer lookup failed.")));
        return;
      }
      var matches = answer.data.matches || [];
      if (matches.length === 1) {
        showPop(matches[0].name, number, "customer", call);
        showCustomer(matches[0]);
        named(call, matches[0].name);
        openInFrame(matches[0].url);
      } else if (matches.length > 1) {
        var several = fmt(gettext("%(count)s customers have this number"), { count: matches.length });
        showPop(several, number, "chooser", call);
        named(call, several);
        var list = el("ul", { "class": "wb-chooser" });
        matches.forEach(function (m) {
          var item = el("li");
          var b = el("button", { type: "button", "class": "secondary", "data-id": String(m.id),
            dir: "auto" }, customerLine(m));
          b.addEventListener("click", function () {
            openInFrame(m.url);
            named(call, m.name);
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
        showPop(gettext("Unknown caller"), number, "unknown", call);
        named(call, gettext("Unknown caller"));
        popBody.appendChild(el("p", {}, gettext(
      "No customer has this number: the new-customer form is open with it.")));
        popBody.appendChild(createButton(number, call));
        openInFrame(cfg.createUrl + "?phone=" + encodeURIComponent(number) +
          "&call=" + encodeURIComponent(callKey(call)));
      }
    }, function () {
      if (seq === popSeq) {
        popBody.textContent = "";
        popBody.appendChild(el("p", { "class": "error" }, gettext("The customer lookup failed.")));
      }
    });
  }

  // --- after-call work: one wrap-up form per ended call, its draft kept per call ----------------

  var lastEnded = null;     // the call that ended last (its pop stays until the next call)
  var TAB = Math.random().toString(36).slice(2);  // this tab, to tell its drafts from another's
  var DRAFTS = "crmdemo-wrapup:" + cfg.agent + ":";
  var DRAFT_DAYS = 2;

  function readDraft(key) {
    try {
      return JSON.parse(window.localStorage.getItem(DRAFTS + key) || "null");
    } catch (e) {
      return null;  // storage off (private mode) or a broken entry: no draft
    }
  }

  function writeDraft(key, draft) {
    try {
      if (draft) window.localStorage.setItem(DRAFTS + key, JSON.stringify(draft));
      else window.localStorage.removeItem(DRAFTS + key);
    } catch (e) { /* storage full or off: the form itself still holds the text */ }
  }

  var forms = {};           // contact id -> wrap-up form controller

  // The wrap-up form of `call` ({contactId, connid, direction, caller, callee, customerName}):
  // created once per call, newest first; typing keeps a draft; "Save notes" posts the notes
  // event; saved or discarded, the form goes.
  function wrapupFor(call, draft) {
    var key = callKey(call);
    if (forms[key]) return forms[key];
    var form = el("form", { "class": "card wb-wrapup", "data-contact-id": key });
    var head = el("div", { "class": "wb-wrapup-head" });
    var who = call.customerName ? call.customerName + " \u00b7 " : "";
    head.appendChild(el("h2", { dir: "auto" }, gettext("After-call work")));
    form.appendChild(head);
    var party = el("p", { "class": "wb-wrapup-party", dir: "auto" },
      who + formatNumber(partyOf(call)));
    form.appendChild(party);
    var outcome = el("p", { "class": "wb-pop-outcome wb-wrapup-outcome" });
    form.appendChild(outcome);
    var label = el("label", {}, gettext("Wrap-up notes"));
    var notes = el("textarea", { name: "notes", rows: "4", maxlength: "5000", dir: "auto" });
    label.appendChild(notes);
    form.appendChild(label);
    var buttons = el("div", { "class": "wb-wrapup-buttons" });
    var save = el("button", { type: "submit" }, gettext("Save notes"));
    var discard = el("button", { type: "button", "class": "secondary" }, gettext("Close"));
    var statusEl = el("span", { "class": "wb-wrapup-status", role: "status" });
    buttons.appendChild(save);
    buttons.appendChild(discard);
    buttons.appendChild(statusEl);
    form.appendChild(buttons);
    wrapups.insertBefore(form, wrapups.firstChild);
    idleCard.hidden = true;

    var meta = {
      contactId: call.contactId, connid: call.connid, direction: call.direction,
      caller: call.caller, callee: call.callee, customerName: call.customerName || ""
    };
    if (draft && draft.text) notes.value = draft.text;
    var dirty = !!(draft && draft.text);

    function say(text, kind) {
      statusEl.textContent = text;
      statusEl.setAttribute("data-kind", kind || "info");
    }

    function keep() {
      writeDraft(key, Object.assign({ text: notes.value, tab: TAB, at: Date.now() }, meta));
    }

    function close() {
      writeDraft(key, null);
      delete forms[key];
      form.remove();
      if (call.wrapup === controller) call.wrapup = null;
      drawIdle();
      drawBar();
    }

    notes.addEventListener("input", function () {
      dirty = true;
      controller.saved = false;
      keep();
      if (statusEl.getAttribute("data-kind") !== "error") say("");
    });

    discard.addEventListener("click", function () {
      if (dirty && notes.value.trim() &&
          !window.confirm(gettext("Close without saving these notes?"))) return;
      close();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      say(gettext("Saving\u2026"));
      save.disabled = true;
      call.logError = "";
      logEvent(call, "notes", { notes: notes.value }).then(function (record) {
        save.disabled = false;
        if (!record) {
          // The typed notes stay in the form (and the draft), to be corrected and sent again.
          say(call.logError ? fmt(gettext("Not saved: %(reason)s"), { reason: call.logError })
            : gettext("Not saved."), "error");
          return;
        }
        dirty = false;
        controller.saved = true;
        writeDraft(key, null);
        say(gettext("Saved."));
        refreshCustomerPage();
        loadContext();
        window.setTimeout(function () { if (!dirty) close(); }, 2500);
      });
    });

    var controller = {
      form: form,
      notes: notes,
      answered: !!call.answeredAt,
      saved: false,
      close: close,
      save: function () { form.requestSubmit(); },
      setRecord: function (record) {
        if (!record) return;
        outcome.textContent = outcomeText(record);
      },
      // Another tab of this agent changed this call's draft.
      otherTab: function (other) {
        if (!other) return;
        say(gettext("These notes are also being edited in another tab: the one saved last is kept."),
          "error");
      },
      dirty: function () { return dirty && !!notes.value.trim(); }
    };
    forms[key] = controller;
    call.wrapup = controller;
    if (call.record) controller.setRecord(call.record);
    // Not while the agent types in a CRM page (e.g. the new-customer form in the frame).
    if (!draft && document.activeElement === document.body) notes.focus();
    return controller;
  }

  // Show the saved note on the customer's page if that page is in the frame.
  function refreshCustomerPage() {
    try {
      var here = frame.contentWindow.location.pathname;
      if (/^\/customers\/\d+\/$/.test(here)) frame.contentWindow.location.reload();
    } catch (e) { /* the frame left the CRM: nothing to refresh */ }
  }

  // The customer's page beside lists this call in its recent calls: fetch that page again and
  // swap in its #calls section, so the page never says "ringing" while the call is on. Never a
  // reload (it could cancel a page the agent is opening), never while an "Edit notes" form there
  // is open.
  function refreshRecentCalls() {
    loadContext();
    var page, here;
    try {
      page = frame.contentWindow;
      here = page.location.pathname;
    } catch (e) {
      return;  // the frame left the CRM
    }
    if (!/^\/customers\/\d+\/$/.test(here) || !page.document.getElementById("calls") ||
        page.document.querySelector("#calls details[open]")) return;
    fetch(here, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("calls");
        var doc;
        try { doc = frame.contentWindow.document; } catch (e) { return; }
        var old = doc.getElementById("calls");
        if (!fresh || !old || frame.contentWindow.location.pathname !== here ||
            doc.querySelector("#calls details[open]")) return;
        var node = doc.importNode(fresh, true);
        old.replaceWith(node);
        if (typeof frame.contentWindow.crmLinkPhones === "function") {
          frame.contentWindow.crmLinkPhones(node);
        }
      }, function () { /* the page stays as it was */ });
  }

  function drawIdle() {
    idleCard.hidden = !pop.hidden || !!wrapups.firstChild;
  }

  function showWrapup(call) {
    call.ended = true;
    lastEnded = call;
    if (!call.popSeq || call.popSeq === popSeq) {
      if (pop.hidden || pop.getAttribute("data-contact-id") !== callKey(call)) {
        showPop("", partyOf(call), "ended", call);
      }
      drawPopTitle();
      showRecord(call);
    }
    wrapupFor(call, readDraft(callKey(call)));
  }

  // Drafts of calls this agent did not save (a reload, a crash) come back as their forms.
  function restoreDrafts() {
    var now = Date.now();
    try {
      for (var i = window.localStorage.length - 1; i >= 0; i--) {
        var name = window.localStorage.key(i);
        if (!name || name.indexOf(DRAFTS) !== 0) continue;
        var draft = readDraft(name.slice(DRAFTS.length));
        if (!draft || now - (draft.at || 0) > DRAFT_DAYS * 86400000) {
          window.localStorage.removeItem(name);
        } else if (draft.text) {
          var call = {
            contactId: draft.contactId, connid: draft.connid, direction: draft.direction,
            caller: draft.caller, callee: draft.callee, customerName: draft.customerName,
            ended: true
          };
          wrapupFor(call, draft);
        }
      }
    } catch (e) { /* storage off: nothing to restore */ }
  }

  window.addEventListener("storage", function (event) {
    if (!event.key || event.key.indexOf(DRAFTS) !== 0) return;
    var form = forms[event.key.slice(DRAFTS.length)];
    var other = null;
    try { other = JSON.parse(event.newValue || "null"); } catch (e) { other = null; }
    if (form && other && other.tab !== TAB) form.otherTab(other);
  });

  // --- the call bar ----------------------------------------------------------------------------

  var stateSelect = document.getElementById("cb-state");
  var primary = document.getElementById("cb-primary");
  var declineBtn = bar.querySelector(".cb-decline");
  var holdBtn = bar.querySelector(".cb-hold");
  var muteBtn = bar.querySelector(".cb-mute");
  var transferBtn = bar.querySelector(".cb-transfer");
  var keypadBtn = bar.querySelector(".cb-keypad");
  var keypadPop = document.getElementById("cb-keypad-pop");
  var transferPop = document.getElementById("cb-transfer-pop");
  var dialInput = keypadPop.querySelector(".cb-dial-number");
  var dialBtn = keypadPop.querySelector(".cb-dial");
  var cbDirection = bar.querySelector(".cb-direction");
  var cbName = bar.querySelector(".cb-name");
  var cbNumber = bar.querySelector(".cb-number");
  var cbPhase = bar.querySelector(".cb-phase");
  var cbTimer = bar.querySelector(".cb-timer");
  var muted = false;
  var stateChanging = false;

  function can(method) {
    return !!workbench && typeof workbench[method] === "function";
  }

  function agentState(s) {
    if (ON_CALL.indexOf(s) >= 0) return "busy";
    if (s === READY) return "ready";
    if (s === BREAK || s === SIGNED_IN) return "break";
    if (s === AFTER_CALL_WORK) return "acw";
    return "offline";
  }

  function clock(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor(total / 60) % 60, sec = total % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (sec < 10 ? "0" : "") + sec;
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function drawTimer() {
    var call = current || lastEnded;
    // Always in its place (the bar does not jump); grey with no call to time.
    if (!call || !call.startedAt || (!current && !call.answeredAt)) {
      cbTimer.textContent = "00:00";
      cbTimer.setAttribute("data-running", "false");
      return;
    }
    var from = call.answeredAt || call.startedAt;
    var to = call.endedAt || Date.now();
    cbTimer.setAttribute("data-running", String(!call.endedAt));
    cbTimer.textContent = clock(to - from);
    cbTimer.setAttribute("datetime", "PT" + Math.floor((to - from) / 1000) + "S");
  }

  function drawBar() {
    var s = status, st = agentState(s), call = current;
    var live = ON_CALL.indexOf(s) >= 0;
    var talking = TALKING.indexOf(s) >= 0;
    bar.setAttribute("data-agent", st);
    bar.setAttribute("data-status", String(s));
    // "ready" exactly while the agent is Ready to take calls (benchmarks/softphone_ready.py).
    document.documentElement.dataset.softphone = s === READY ? "ready" : "";

    // State selector: what the agent is; call states and after-call work shown, not chosen.
    if (stateChanging) stateSelect.value = "pending";
    else if (st === "busy" || st === "acw") stateSelect.value = st;
    else if (st === "break") stateSelect.value = lastBreak;
    else stateSelect.value = st;
    if (!stateSelect.value) stateSelect.value = st === "break" ? "break:rest" : "offline";
    stateSelect.disabled = !cfg.linked || !workbench || live || stateChanging ||
      s === REGISTERING || passive;
    rememberState(s);

    // The call: the live one, else the one that just ended while its after-call work lasts (once
    // the agent is Ready again the bar says "No call"; the card keeps the ended call).
    var shown = call || (s === AFTER_CALL_WORK ? lastEnded : null);
    bar.setAttribute("data-phase", call ? (live ? "call" : "idle") : shown ? "ended" : "idle");
    if (shown) {
      cbDirection.textContent = shown.direction === "outbound" ? gettext("Outbound") : gettext("Inbound");
      cbDirection.setAttribute("data-direction", shown.direction || "");
      cbName.textContent = shown.customerName || "";
      cbNumber.textContent = formatNumber(partyOf(shown));
      cbNumber.title = partyOf(shown) || "";
    } else {
      cbDirection.textContent = "";
      cbName.textContent = "";
      cbNumber.textContent = "";
    }
    if (call && live) cbPhase.textContent = phaseOf(call);
    else if (s === AFTER_CALL_WORK) cbPhase.textContent = gettext("After-call work");
    else if (shown) cbPhase.textContent = gettext("Call ended");
    else cbPhase.textContent = gettext("No call");

    // One primary action: Answer while ringing inbound, Hang up while on a call.
    var inboundRinging = s === RINGING;
    if (inboundRinging) {
      primary.setAttribute("data-action", "answer");
      primary.textContent = gettext("Answer");
    } else if (live) {
      primary.setAttribute("data-action", "hangup");
      primary.textContent = gettext("Hang up");
    } else if (s === AFTER_CALL_WORK && !stateChanging) {
      // After-call work: the useful next step is taking calls again.
      primary.setAttribute("data-action", "ready");
      primary.textContent = gettext("Ready");
    } else {
      primary.setAttribute("data-action", "none");
      primary.textContent = gettext("Answer");
    }
    var acw = primary.getAttribute("data-action") === "ready";
    primary.disabled = !(live || acw) || passive;
    primary.title = acw ? gettext("End the after-call work and take calls again")
      : live ? "" : gettext("No call");
    declineBtn.hidden = !inboundRinging;

    var held = s === HOLD;
    holdBtn.disabled = !(talking || held);
    holdBtn.setAttribute("aria-pressed", String(held));
    holdBtn.textContent = held ? gettext("Resume") : gettext("Hold");
    if (!live) muted = false;
    muteBtn.disabled = !(talking || held) || !can("muteAgent");
    muteBtn.setAttribute("aria-pressed", String(muted));
    muteBtn.textContent = muted ? gettext("Unmute") : gettext("Mute");
    transferBtn.disabled = !(talking || held) || !can("thirdCallTransfer");
    keypadBtn.disabled = !cfg.linked || !workbench ||
      !(CAN_DIAL.indexOf(s) >= 0 || (talking && can("sendDtmf")));
    if (keypadBtn.disabled) closePop(keypadPop, keypadBtn);
    if (transferBtn.disabled) closePop(transferPop, transferBtn);
    dialBtn.hidden = talking;
    dialInput.parentNode.hidden = talking;
    drawTimer();
    drawPopTitle();
  }

  window.setInterval(function () { if (current) drawTimer(); }, 1000);

  function closePop(box, button) {
    box.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }

  function togglePop(box, button) {
    var open = box.hidden;
    [[keypadPop, keypadBtn], [transferPop, transferBtn]].forEach(function (pair) {
      closePop(pair[0], pair[1]);
    });
    if (!panel.hidden) toggleSoftphone(false);
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) {
      var input = box.querySelector("input:not([hidden])");
      if (input && !input.closest("[hidden]")) input.focus();
    }
  }

  // Run an SDK method; resolves true when it did not report failure (the real SDK's methods may
  // answer nothing, the stand-in's a promise of true/false).
  function run(method, args) {
    if (!can(method)) return Promise.resolve(false);
    var answer;
    try {
      answer = workbench[method].apply(workbench, args || []);
    } catch (e) {
      notice(fmt(gettext("The softphone refused: %(reason)s"), { reason: e.message }), "error");
      return Promise.resolve(false);
    }
    return Promise.resolve(answer).then(function (ok) { return ok !== false; },
      function () { return false; });
  }

  var lastBreak = "break:rest";

  // After signing in, the softphone may take a moment to learn of a call still up (a reload
  // mid-call): wait up to a second for it before asking for Ready, which a busy agent is refused.
  // Resolves true.
  function settle() {
    return new Promise(function (resolve) {
      var tries = 0;
      (function look() {
        var now = statusNow();
        if (now === READY || ON_CALL.indexOf(now) >= 0 || ++tries > 10) resolve(true);
        else window.setTimeout(look, 100);
      })();
    });
  }

  // The agent picked a state: sign in first when needed (SIP registration + sign-in), then
  // Ready or Break (with its reason), or sign out.
  function changeState(target) {
    var s = statusNow();
    var step = Promise.resolve(true);
    if (target === "offline") {
      if (s === UNREGISTERED || s === OFFLINE) return;
      step = run("logOut");
    } else {
      if (s === UNREGISTERED) step = run("register", [[]]);
      else if (s === OFFLINE) step = V2 ? run("logIn", [[]]) : run("register", [[]]);
      var signingIn = s === UNREGISTERED || s === OFFLINE;
      step = step.then(function (ok) {
        return ok && signingIn ? settle() : ok;
      }).then(function (ok) {
        if (!ok) return false;
        var now = statusNow();
        if (ON_CALL.indexOf(now) >= 0) return true;  // signing in resumed a call: keep it
        if (target === "ready") return now === READY ? true : run("ready");
        var reason = target.split(":")[1] || "rest";
        lastBreak = target;
        if (now === BREAK) return true;
        return V2 ? run("applyForBreak", [reason])
          : run("applyForBreak", [reason, stateSelect.selectedOptions[0].textContent]);
      });
    }
    stateChanging = true;
    drawBar();
    step.then(function (ok) {
      stateChanging = false;
      if (!ok && !noticeEl.textContent) {
        notice(gettext("Your status could not be changed: see the softphone's message."), "error");
      }
      drawBar();
    });
  }

  stateSelect.addEventListener("change", function () { changeState(stateSelect.value); });

  primary.addEventListener("click", function (event) {
    // Only a single click acts: the button changes under the pointer (Answer becomes Hang up),
    // and the second click of a double click must not hang up the call it just answered.
    if (event.detail > 1) return;
    var action = primary.getAttribute("data-action");
    if (action === "answer") run("answer");
    else if (action === "hangup") run("hangUp");
    else if (action === "ready") changeState("ready");
  });
  declineBtn.addEventListener("click", function () { run("hangUp"); });
  holdBtn.addEventListener("click", function () {
    run(statusNow() === HOLD ? "callRetrieve" : "callHold");
  });
  muteBtn.addEventListener("click", function () {
    var want = !muted;
    run(want ? "muteAgent" : "umMuteAgent").then(function (ok) {
      if (ok) muted = want;
      drawBar();
    });
  });
  keypadBtn.addEventListener("click", function () { togglePop(keypadPop, keypadBtn); });
  transferBtn.addEventListener("click", function () { togglePop(transferPop, transferBtn); });

  keypadPop.addEventListener("click", function (event) {
    var key = event.target.closest("button[data-digit]");
    if (!key) return;
    var digit = key.getAttribute("data-digit");
    if (TALKING.indexOf(statusNow()) >= 0) run("sendDtmf", [digit]);
    else dialInput.value += digit;
  });
  // The typed number goes through the server's normalization first, as click-to-dial's numbers
  // do (customers.phones): the lookup answers what to dial (Unicode digits read, extension
  // dropped, PHONE_DEFAULT_REGION's dialling rules) and how to show it. Not a number: say so in
  // the agent's language and dial nothing.
  var keypadBusy = false;
  keypadPop.addEventListener("submit", function (event) {
    event.preventDefault();
    var number = dialInput.value.trim();
    if (!number || keypadBusy) return;
    keypadBusy = true;
    lookup(number).then(function (answer) {
      keypadBusy = false;
      if (answer.status === 400) {
        notice(fmt(gettext("Not dialled: %(reason)s"),
          { reason: answer.data.error || gettext("this is not a phone number.") }), "error");
        return;
      }
      if (!answer.ok || !answer.data.dial) {
        notice(gettext("Not dialled: the number could not be checked; try again."), "error");
        return;
      }
      var display = answer.data.display || answer.data.dial;
      shownNumbers[answer.data.dial] = display;
      var result = dial(answer.data.dial, display);
      if (result.ok) {
        dialInput.value = "";
        closePop(keypadPop, keypadBtn);
      }
    }, function () {
      keypadBusy = false;
      notice(gettext("Not dialled: the number could not be checked; try again."), "error");
    });
  });
  transferPop.addEventListener("submit", function (event) {
    event.preventDefault();
    var to = transferPop.querySelector(".cb-transfer-to").value.trim();
    if (!to) return;
    run("thirdCallTransfer", [to]).then(function (ok) {
      if (ok) {
        closePop(transferPop, transferBtn);
        notice(fmt(gettext("Transferred to %(to)s."), { to: to }), "info");
      }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    closePop(keypadPop, keypadBtn);
    closePop(transferPop, transferBtn);
  });

  // --- softphone hooks (1.x, positional) --------------------------------------------------------

  function track(connid, fields) {
    var call = calls[connid] || { connid: connid };
    Object.keys(fields).forEach(function (k) {
      if (fields[k] != null && fields[k] !== "") call[k] = fields[k];
    });
    calls[connid] = call;
    return call;
  }

  // `call` is now the one on the bar: a new timer, not muted, the last call's end forgotten.
  function begin(call) {
    if (current !== call) {
      // A new call: typed notes of earlier calls are saved (their forms go once saved, or stay
      // with the server's reason); empty forms of missed calls go; an empty one of a call that
      // was talked on stays until closed.
      Object.keys(forms).forEach(function (key) {
        var form = forms[key];
        if (form.dirty()) form.save();  // typed, not saved: saved now, not lost
        else if (!form.answered || form.saved) form.close();
      });
      current = call;
      muted = false;
      // Both kept times before keepTimes writes them back (it wrote a null answer time over the
      // kept one, and the timer of a call resumed after a reload restarted from 0).
      var kept = keptTimes(call);
      call.startedAt = call.startedAt || kept.startedAt || Date.now();
      call.answeredAt = call.answeredAt || kept.answeredAt || undefined;
      lastEnded = null;
      keepTimes(call);
    }
  }

  // What an error of the softphone / CCC means, in the agent's language, chosen by its code: the
  // service's own Message (Chinese on Alibaba's CCC, whatever the page's language) is only a
  // detail, shown when the code is one this console does not know.
  var ERROR_TEXTS = {
    "Parameter.Invalid": gettext("a value was not accepted (is the number a phone number?)."),
    InvalidParameter: gettext("a value was not accepted (is the number a phone number?)."),
    UserBusy: gettext("you or the other agent are already on a call."),
    AgentNotReady: gettext("the agent is not ready: signed out, or not Ready in the softphone."),
    "NotExists.UserId": gettext("there is no such agent."),
    "NotExists.JobId": gettext("the call has already ended."),
    "NotExists.Call": gettext("the call has already ended."),
    StatusNotAllowed: gettext("not possible in the current status."),
    StateNotAllowed: gettext("not possible in the current status."),
    CallStateError: gettext("not possible in the call's current state."),
    9001: gettext("not possible in the current status."),
    "Permission.Denied": gettext("not allowed (signed in on another device?)."),
    Forbidden: gettext("not allowed (signed in on another device?)."),
    Throttling: gettext("too many requests: wait a moment and try again."),
    ActionNotAllowed: gettext("not allowed (signed in on another device?)."),
    UpstreamTimeout: gettext("Alibaba Cloud did not answer in time: try again."),
    UpstreamUnavailable: gettext("Alibaba Cloud cannot be reached: check the network and try again.")
  };

  function errorReason(e) {
    var code = e.errorCode == null ? "" : String(e.errorCode);
    var text = ERROR_TEXTS[code];
    if (!text && /^NotExists\./.test(code)) text = gettext("it does not exist (any more).");
    if (!text && /^NotSupported\./.test(code)) text = gettext("not supported.");
    if (!text && /^(Permission|Forbidden)/.test(code)) {
      text = gettext("not allowed (signed in on another device?).");
    }
    if (!text && /^Throttling/.test(code)) {
      text = gettext("too many requests: wait a moment and try again.");
    }
    if (text) return text;
    var detail = e.errorMsg || e.errorMsgTip || "";
    if (code && detail) {
      return fmt(gettext("the service refused it (%(code)s: %(detail)s)"),
        { code: code, detail: detail });
    }
    if (code || detail) {
      return fmt(gettext("the service refused it (%(detail)s)"), { detail: code || detail });
    }
    return gettext("unknown error");
  }

  var hooks = {
    onCallComing: function (connid, caller, callee, contactId) {
      var call = track(connid, {
        direction: "inbound", caller: caller || "", callee: callee || "", contactId: contactId
      });
      begin(call);
      clearNotice("call-log");  // the last call's log trouble is not this call's
      logEvent(call, "ringing");
      screenPop(call);
      drawBar();
    },
    onCallDialing: function (connid, caller, callee, contactId) {
      var call = track(connid, {
        direction: "outbound", caller: caller || "", callee: callee || "", contactId: contactId
      });
      dialPending = false;
      window.clearTimeout(dialTimer);
      begin(call);
      clearNotice("call-log");
      clearNotice("dial");
      call.popSeq = ++popSeq;
      showPop("", callee, "dialing", call);
      describeCallee(call);
      logEvent(call, "dialing");
      drawBar();
    },
    onCallEstablish: function (connid, caller, privateData) {
      var data = privateData || {};
      var call = track(connid, {
        caller: caller, contactId: data.contactId, callee: data.callee, direction: data.direction
      });
      if (!call.direction) call.direction = "inbound";
      begin(call);
      call.answeredAt = call.answeredAt || keptTimes(call).answeredAt || Date.now();
      keepTimes(call);
      logEvent(call, "answered");
      drawBar();
    },
    onCallRelease: function (connid, caller, contactId) {
      var call = calls[connid] || track(connid, {
        caller: caller, contactId: contactId, direction: "inbound"
      });
      delete calls[connid];
      forgetTimes(call);
      dialPending = false;
      call.startedAt = call.startedAt || Date.now();
      call.endedAt = Date.now();
      if (current === call || !current) current = null;
      logEvent(call, "released");
      showWrapup(call);
      drawBar();
    },
    onStatusChange: function (code) {
      status = code;
      if (code !== READY && code !== BREAK && code !== AFTER_CALL_WORK) dialPending = false;
      document.body.setAttribute("data-softphone-status", String(code));
      // Ready again: an earlier refusal ("you are on a call") is no longer true; a pending
      // dial's "Calling…" stays until the call starts or fails.
      if ((CAN_DIAL.indexOf(code) >= 0 || code === SIGNED_IN) && noticeFrom !== "dial") notice("");
      drawBar();
    },
    onErrorNotify: function (error) {
      var e = error || {};
      var reason = errorReason(e);
      var wasDialing = dialPending || noticeFrom === "dial";
      dialPending = false;
      window.clearTimeout(dialTimer);
      stateChanging = false;
      if (e.errorCode === "NotAuthenticated") {
        notice(gettext(
      "Your Alibaba Cloud account is not linked any more: link it again on your profile page."), "error");
      } else if (e.errorCode === "LoginRequired") {
        // The CRM sign-in ended (e.g. signed out in another tab): the softphone stops polling.
        notice(gettext("Your CRM sign-in has ended: reload the page and sign in again."), "error");
      } else if (wasDialing) {
        // Never leave "Calling…" on screen: say what failed instead.
        notice(fmt(gettext("The call could not be made: %(reason)s"), { reason: reason }), "error");
      } else {
        notice(fmt(gettext("The softphone reported a problem: %(reason)s"), { reason: reason }),
          "error", "softphone");
      }
      drawBar();
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
      begin(call);
      showPop("", call.callee, "dialing", call);
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
    var chosen = V2 ? hooks2x : hooks, guarded = {};
    // A passive tab (the console is used in another tab) shows and logs nothing of the calls.
    Object.keys(chosen).forEach(function (name) {
      guarded[name] = function () {
        if (!passive) return chosen[name].apply(null, arguments);
      };
    });
    workbench = new window.WorkbenchSdk(Object.assign(sdkConfig, guarded));
    window.workbench = workbench;
  } else if (cfg.linked) {
    notice(gettext("The softphone could not be loaded; check the network and reload the page."),
      "error");
  }

  // --- click-to-dial (called by CRM pages in the frame) -----------------------------------------

  function statusNow() {
    return workbench && typeof workbench.getStatusCode === "function"
      ? workbench.getStatusCode() : status;
  }

  var dialPending = false;  // a call() not yet answered by onCallDialing/onCallRelease/an error
  var dialTimer = null;

  /** Dial `number` (digits as an agent types them). Returns {ok, reason}; while a dial is pending
   * or dialing, further clicks are ignored: {ok: false, reason: ""}. */
  function dial(number, label) {
    var reason = null, s = statusNow();
    if (dialPending || s === DIALING) return { ok: false, reason: "" };  // e.g. a double click
    if (passive) reason = gettext("The console is used in another tab: dial there, or choose Use this tab.");
    else if (!cfg.linked) reason = gettext("Not linked: link your Alibaba Cloud account to make calls.");
    else if (!workbench) reason = gettext("The softphone is not loaded.");
    else if (ON_CALL.indexOf(s) >= 0) reason = gettext("You are on a call: hang up first.");
    else if (s === SIGNED_IN) reason = gettext("You are signed in but not ready: choose Ready first.");
    else if (CAN_DIAL.indexOf(s) < 0) reason = gettext("You are offline: choose Ready first.");
    if (reason) {
      notice(reason, "error");
      return { ok: false, reason: reason };
    }
    notice(fmt(gettext("Calling %(party)s\u2026"), { party: label || number }), "info", "dial");
    dialPending = true;
    window.clearTimeout(dialTimer);  // a softphone that never answers must not block dialing
    dialTimer = window.setTimeout(function () {
      dialPending = false;
      if (noticeFrom === "dial") {
        notice(gettext("The call could not be made: the softphone did not answer."), "error");
      }
    }, 15000);
    run("call", [number]).then(function (ok) {
      // Refused before dialing (the SDK said why through onErrorNotify, or said nothing).
      if (!ok && dialPending) {
        dialPending = false;
        window.clearTimeout(dialTimer);
        if (noticeFrom === "dial") {
          notice(gettext("The call could not be made: the softphone refused it."), "error");
        }
      }
    });
    return { ok: true, reason: "" };
  }

  window.crmWorkbench = {
    dial: dial,
    status: statusNow,
    open: openInFrame,
    /** Call-log events posted but not yet answered (0 when the log is up to date). */
    pending: function () { return pending; }
  };

  // --- the softphone's own panel, navigation ----------------------------------------------------

  function toggleSoftphone(visible) {
    panel.hidden = !visible;
    toggle.setAttribute("aria-expanded", String(visible));
    if (visible) {
      closePop(keypadPop, keypadBtn);
      closePop(transferPop, transferBtn);
    }
    if (workbench && typeof workbench.changeVisible === "function") workbench.changeVisible(visible);
  }

  toggle.addEventListener("click", function () { toggleSoftphone(panel.hidden); });

  // Links to the console itself (the brand, "Console") would reload it: show the CRM's first
  // page in the frame instead, so a call goes on.
  document.querySelector(".topbar").addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (!link || !frame) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin === window.location.origin && url.pathname === cfg.homeUrl) {
      event.preventDefault();
      openInFrame(cfg.fallbackUrl);
    }
    var menu = link.closest("details");
    if (menu) menu.open = false;
  });

  window.addEventListener("beforeunload", function (event) {
    if (!leaving && !passive && ON_CALL.indexOf(statusNow()) >= 0) {
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

  // --- this tab's softphone state across reloads (sessionStorage) --------------------------------
  // A reload or the language switch must not drop the agent: what they were (Ready, on break, on
  // a call, in after-call work) is kept per tab, and the page signs the softphone in again after
  // loading (a live call is resumed by the sign-in); the call's start and answer times are kept by
  // call id, so its timer goes on instead of restarting from 0.
  function readSession() {
    try {
      return JSON.parse(window.sessionStorage.getItem(SESSION) || "null") || {};
    } catch (e) {
      return {};
    }
  }

  function writeSession(data) {
    try {
      window.sessionStorage.setItem(SESSION, JSON.stringify(data));
    } catch (e) { /* storage off: a reload signs out as before */ }
  }

  var restoring = false;

  function rememberState(s) {
    if (passive || restoring || s === UNREGISTERED || s === REGISTERING) return;
    var data = readSession(), st = agentState(s);
    data.state = st === "break" ? lastBreak : st;
    writeSession(data);
  }

  function keptTimes(call) {
    return (readSession().calls || {})[callKey(call)] || {};
  }

  function keepTimes(call) {
    var data = readSession();
    data.calls = data.calls || {};
    data.calls[callKey(call)] = { startedAt: call.startedAt, answeredAt: call.answeredAt || null };
    writeSession(data);
  }

  function forgetTimes(call) {
    var data = readSession();
    if (data.calls) delete data.calls[callKey(call)];
    writeSession(data);
  }

  // Sign the softphone in again as the agent was before the reload (or as the other tab was).
  function restoreState(was) {
    if (!cfg.linked || !workbench || !was || was === "offline" || was === "pending") return;
    var target = was.indexOf("break") === 0 ? was : "ready";  // a call or after-call work: Ready
    restoring = true;
    var started = Date.now();
    (function wait() {
      var s = statusNow();
      var loaded = panel.querySelector(".wbsdk-groups input") || Date.now() - started > 3000;
      if (passive) {
        restoring = false;
      } else if (loaded && (s === UNREGISTERED || s === OFFLINE)) {
        restoring = false;
        changeState(target);
      } else if (loaded && s !== REGISTERING) {
        restoring = false;  // already signed in (e.g. the SDK did it): nothing to do
        drawBar();
      } else if (Date.now() - started < 15000) {
        window.setTimeout(wait, 100);
      } else {
        restoring = false;
      }
    })();
  }

  // --- one console per agent: other tabs (BroadcastChannel) --------------------------------------
  // A second tab of the console says so and leaves the softphone alone until the agent chooses
  // "Use this tab"; the first tab is then told and goes passive.
  var tabBanner = el("div", { "class": "cb-tabs", role: "alert", hidden: "" });
  var tabText = el("span", { "class": "cb-tabs-text" });
  var tabUse = el("button", { type: "button", "class": "cb-tabs-use" }, gettext("Use this tab"));
  tabBanner.appendChild(tabText);
  tabBanner.appendChild(tabUse);
  bar.insertBefore(tabBanner, noticeEl);
  var channel = null, otherState = null;

  function goPassive(text) {
    passive = true;
    status = UNREGISTERED;  // this tab no longer speaks for the softphone
    current = null;
    tabText.textContent = text;
    tabBanner.hidden = false;
    closePop(keypadPop, keypadBtn);
    closePop(transferPop, transferBtn);
    drawBar();
  }

  function tell(message) {
    if (channel) channel.postMessage(Object.assign({ tab: TAB }, message));
  }

  tabUse.addEventListener("click", function () {
    tell({ type: "takeover" });
    passive = false;
    tabBanner.hidden = true;
    tabText.textContent = "";
    drawBar();
    restoreState(otherState || wasState);
  });

  function startTabs(then) {
    if (typeof window.BroadcastChannel !== "function") { then(); return; }
    channel = new window.BroadcastChannel(SESSION);
    var answered = false;
    channel.onmessage = function (event) {
      var m = event.data || {};
      if (m.tab === TAB) return;
      if (m.type === "hello" && !passive) {
        tell({ type: "here", state: readSession().state || agentState(status) });
      } else if (m.type === "here" && !answered) {
        answered = true;
        otherState = m.state || null;
        goPassive(gettext("The console is open in another tab."));
      } else if (m.type === "takeover" && !passive) {
        goPassive(gettext("The console is now used in another tab: this tab is passive."));
      }
    };
    tell({ type: "hello" });
    window.setTimeout(function () { if (!answered) then(); }, 400);
  }

  // The language switch reloads the console: no "leave site?" (the call goes on and is resumed);
  // signing out during a call asks first (the caller would be left alone).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form.langswitch")) {
      leaving = true;
    } else if (form.matches("form.signout")) {
      if (!passive && ON_CALL.indexOf(statusNow()) >= 0 && !window.confirm(gettext(
        "You are on a call: signing out leaves the caller alone. Sign out anyway?"))) {
        event.preventDefault();
        return;
      }
      leaving = true;
      writeSession({});
    }
  }, true);

  // A customer created from "Unknown caller": when the frame shows a customer's page, look the
  // number up again, so the call bar and the card name the new customer.
  function relookUnknown() {
    var call = popCall();
    if (!call || pop.getAttribute("data-kind") !== "unknown") return;
    var here;
    try { here = frame.contentWindow.location.pathname; } catch (e) { return; }
    if (!/^\/customers\/\d+\/$/.test(here)) return;
    var number = (call.caller || "").trim(), seq = popSeq;
    lookup(number).then(function (answer) {
      var matches = answer.ok && answer.data.matches || [];
      if (seq !== popSeq || matches.length !== 1) return;
      showPop(matches[0].name, number, "customer", call);
      showCustomer(matches[0]);
      if (call.record) showRecord(call);
      named(call, matches[0].name);
    }, function () { /* it stays unknown */ });
  }
  if (frame) frame.addEventListener("load", relookUnknown);

  restoreDrafts();
  drawIdle();
  drawBar();
  startTabs(function () { restoreState(wasState); });
})();
