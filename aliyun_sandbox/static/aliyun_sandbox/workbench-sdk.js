/*
 * Stand-in for Alibaba Cloud CCC's softphone SDK 1.x (WorkbenchSdk 0.2.8 / 1.1.x), for the sandbox.
 *
 * Same global (window.WorkbenchSdk), constructor config, positional hooks, methods and status codes
 * as the real SDK (Alibaba Cloud CCC doc 63063, softphone SDK front-end integration;
 * docs/PROTOCOL.md section 2). Kept ASCII so that any page charset reads it.
 * OpenAPI calls go through the CRM's proxy exactly as the real SDK's do:
 *   POST {ajaxOrigin}{ajaxPath}?{ajaxApiParamName || "action"}=<Api>
 *   form body: request=<JSON of lowerCamel params> plus ajaxOtherParams; headers ajaxHeaders.
 * and read the proxy's converted (lowerCamel, collapsed arrays) answers. Error answers
 * {requestId, errorCode, message} (non-2xx) reach onErrorNotify.
 *
 * Where the real SDK talks SIP/WebRTC to Alibaba's agent server, this one talks HTTP to the
 * sandbox's agent server (LoginInfo.agentServerUrl): every request carries LoginInfo's
 * signData/signature; call events are learnt by polling. Plain JS, no external loads.
 */
(function (global) {
  "use strict";

  var S = {
    UNREGISTERED: -1, REGISTERING: 0, SIGNED_OUT: 1, SIGNED_IN: 2, READY: 3, BREAK: 4,
    AFTER_CALL_WORK: 5, RINGING: 6, DIALING: 8, INBOUND_TALK: 9, OUTBOUND_TALK: 10, HOLD: 12
  };
  // The softphone's words come from Django's JavaScript catalogue (djangojs domain, /jsi18n/)
  // when the page has loaded it; the real SDK brings its own words, so a page that does not load
  // the catalogue must still work: the stand-in then shows the English source text.
  function gettext(text) {
    return typeof global.gettext === "function" ? global.gettext(text) : text;
  }
  function gettext_noop(text) { return text; }  // marks a word for makemessages only
  function fill(format, values) {  // interpolate(format, values, true) of the catalogue
    return format.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }
  var LABELS = {
    "-1": gettext_noop("Unregistered"), 0: gettext_noop("Registering"), 1: gettext_noop("Signed out"), 2: gettext_noop("Signed in"), 3: gettext_noop("Ready"),
    4: gettext_noop("Break"), 5: gettext_noop("After-call work"), 6: gettext_noop("Ringing"), 8: gettext_noop("Dialing"), 9: gettext_noop("Inbound call"),
    10: gettext_noop("Outbound call"), 12: gettext_noop("On hold")
  };
  var POLL_MS = 500;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function formBody(fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (k) {
      if (fields[k] != null) body.append(k, String(fields[k]));
    });
    return body;
  }

  function WorkbenchSdk(config) {
    if (!(this instanceof WorkbenchSdk)) return new WorkbenchSdk(config);
    this.config = config || {};
    this._status = S.UNREGISTERED;
    this._idle = S.SIGNED_IN;      // where the agent returns after a call
    this._call = null;             // the call being tracked (agent-server JSON)
    this._waiting = null;          // a live call found before registering: {status, call}
    this._loginInfo = null;
    this._skillLevels = null;
    this._loading = null;          // the start-up's calls while under way (_loadAgent)
    this._groups = [];
    this._timer = null;
    this._seq = 0;                 // bumped by every command, so stale polls are ignored
    this._busy = {};               // call actions ("answer"...) whose request is under way
    this._visible = this.config.defaultVisible !== false;
    this._render();
    this._hook("onInit");
    var self = this;
    this._loadAgent().then(function (ok) {
      self._drawGroups();
      if (ok) self._peek();
    });
  }

  WorkbenchSdk.STATUS = S;

  var proto = WorkbenchSdk.prototype;

  // --- hooks and errors -------------------------------------------------------------------------

  proto._hook = function (name) {
    var fn = this.config[name];
    if (typeof fn !== "function") return;
    var args = Array.prototype.slice.call(arguments, 1);
    try {
      fn.apply(this, args);
    } catch (e) {
      if (global.console) global.console.warn("WorkbenchSdk " + name + " hook failed", e);
    }
  };

  proto._error = function (api, code, message, requestId) {
    var tips = {
      NotAuthenticated: gettext("Link your Alibaba Cloud account first."),
      StatusNotAllowed: gettext("Not possible in the current status."),
      UserBusy: gettext("You are already on a call."),
      AgentNotReady: gettext("Sign in to a skill group first.")
    };
    var error = {
      errorApi: api, errorCode: code, errorMsg: message,
      errorMsgTip: tips[code] || message, requestId: requestId || ""
    };
    this._showError(error.errorMsgTip);
    this._hook("onErrorNotify", error);
    return error;
  };

  // --- OpenAPI through the CRM's proxy ----------------------------------------------------------

  // An OpenAPI call through the proxy. A failure is reported (onErrorNotify) and thrown; with
  // `deferReport` it is only thrown, as {report: function}, for the caller to report it or not.
  proto._api = function (api, params, deferReport) {
    var c = this.config, self = this;
    var fail = function (code, message, requestId) {
      var report = function () { return self._error(api, code, message, requestId); };
      return deferReport ? { report: report } : report();
    };
    var path = c.ajaxPath || "/";
    var url = (c.ajaxOrigin || "") + path + (path.indexOf("?") >= 0 ? "&" : "?") +
      encodeURIComponent(c.ajaxApiParamName || "action") + "=" + encodeURIComponent(api);
    var request = Object.assign({ instanceId: c.instanceId }, params || {});
    var fields = Object.assign({}, c.ajaxOtherParams || {}, { request: JSON.stringify(request) });
    var headers = Object.assign(
      { "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8" }, c.ajaxHeaders || {});
    var method = (c.ajaxMethod || "post").toUpperCase();
    var init = {
      method: method, headers: headers, credentials: c.withCredentials ? "include" : "same-origin"
    };
    if (method === "GET") {
      url += "&" + formBody(fields).toString();  // a GET carries the form in its query string
      delete headers["Content-Type"];
    } else {
      init.body = formBody(fields);
    }
    return fetch(url, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok || data.success === false) {
          throw fail(data.errorCode || data.code || "HttpError" + resp.status,
            data.message || resp.statusText, data.requestId);
        }
        return data;
      });
    }, function (e) {
      throw fail("NetworkError", String(e && e.message || e));
    });
  };

  // The agent's login info and skill groups. Both calls at once (neither needs the other's
  // answer), and one start-up at a time: a register() while the constructor's is under way
  // waits for it instead of asking again.
  proto._loadAgent = function () {
    var self = this;
    if (this._loginInfo && this._skillLevels) return Promise.resolve(true);
    if (!this._loading) {
      this._loading = Promise.allSettled([
        this._api("RequestLoginInfo", {}, true), this._api("ListSkillGroupsOfUser", {}, true)
      ]).then(function (answers) {
        // One report for the start-up, the first call's (as when they ran one after the other).
        var failed = answers.filter(function (a) { return a.status === "rejected"; })[0];
        if (failed) {
          if (failed.reason && failed.reason.report) failed.reason.report();
          return false;
        }
        self._loginInfo = answers[0].value.loginInfo;
        self._skillLevels = answers[1].value.skillLevels || [];
        return true;
      }).catch(function () { return false; }).then(function (ok) {
        self._loading = null;
        return ok;
      });
    }
    return this._loading;
  };

  // --- the agent server -------------------------------------------------------------------------

  // Seconds since the epoch at which LoginInfo's signature expires (SignData's "exp").
  function signatureExpiry(signData) {
    try {
      var b64 = signData.replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(global.atob(b64 + "===".slice((b64.length + 3) % 4))).exp || 0;
    } catch (e) {
      return 0;
    }
  }

  // Renew the agent-server signature (RefreshToken) once half its lifetime has passed.
  proto._freshSignature = function () {
    var self = this, info = this._loginInfo, now = Date.now() / 1000;
    if (!info._issuedAt) info._issuedAt = now;
    var exp = signatureExpiry(info.signData);
    if (!exp || now < info._issuedAt + (exp - info._issuedAt) / 2) return Promise.resolve();
    if (!this._renewing) {
      this._renewing = this._api("RefreshToken", {}).then(function (t) {
        info.signature = t.token.signature;
        info.signData = t.token.signData;
        info._issuedAt = Date.now() / 1000;
      }, function () { /* reported by onErrorNotify; the 401 path retries */ }).then(function () {
        self._renewing = null;
      });
    }
    return this._renewing;
  };

  proto._agent = function (command, fields, retried) {
    var self = this, info = this._loginInfo;
    if (!info) return Promise.reject(this._error(command, "NotRegistered", "Not registered."));
    if (command !== "poll") this._seq += 1;
    return this._freshSignature().then(function () {
      return self._send(command, fields, retried);
    });
  };

  proto._send = function (command, fields, retried) {
    var self = this, info = this._loginInfo;
    return fetch(info.agentServerUrl + command, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      body: formBody(Object.assign({ signData: info.signData, signature: info.signature }, fields))
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401 && data.code === "SignatureExpired" && !retried) {
          return self._api("RefreshToken", {}).then(function (t) {
            info.signature = t.token.signature;
            info.signData = t.token.signData;
            info._issuedAt = Date.now() / 1000;
            return self._send(command, fields, true);
          });
        }
        if (!resp.ok) {
          throw self._agentError(command, data.code || "HttpError" + resp.status, data.message);
        }
        if (command === "poll") self._pollFailing = false;
        return data;
      });
    }, function (e) {
      throw self._agentError(command, "NetworkError", String(e && e.message || e));
    });
  };

  // A failing poll is reported once, not every tick, until a poll succeeds again.
  proto._agentError = function (command, code, message) {
    if (command !== "poll" || !this._pollFailing) {
      if (command === "poll") this._pollFailing = true;
      return this._error(command, code, message);
    }
    return { errorApi: command, errorCode: code, errorMsg: message };
  };

  // Before registering (e.g. after a reload mid-call), ask the agent server once whether the
  // agent still has a live call, so the panel says so; register() then resumes it.
  proto._peek = function () {
    var self = this;
    return this._agent("poll", {}).then(function (data) {
      if (self._status !== S.UNREGISTERED) return;
      self._waiting = data.call && data.call.state !== "released" ? data : null;
      self._draw();
    }, function () { /* reported by onErrorNotify */ });
  };

  proto._startPolling = function () {
    var self = this;
    if (this._timer) return;
    var tick = function () {
      var fields = self._call ? { connid: self._call.connid } : {};
      var seq = self._seq;
      self._agent("poll", fields).then(function (data) {
        // A command answered while this poll was in flight: its answer is newer.
        if (seq === self._seq) self._onCall(data.call);
      }, function () { /* reported once by onErrorNotify; keep polling */ }).then(function () {
        if (self._timer) self._timer = global.setTimeout(tick, self.config.pollInterval || POLL_MS);
      });
    };
    this._timer = global.setTimeout(tick, 0);
  };

  proto._stopPolling = function () {
    if (this._timer) global.clearTimeout(this._timer);
    this._timer = null;
  };

  // --- call state -------------------------------------------------------------------------------

  proto._setStatus = function (code) {
    var last = this._status;
    if (code === last) return;
    this._status = code;
    this._showError("");  // an error of the last status (e.g. a refused double click) is stale
    if (code === S.SIGNED_IN || code === S.READY || code === S.BREAK) this._idle = code;
    this._draw();
    this._hook("onStatusChange", code, last, {
      statusName: LABELS[code], connid: this._call ? this._call.connid : null
    });
  };

  proto._established = function (call) {
    this._setStatus(call.direction === "inbound" ? S.INBOUND_TALK : S.OUTBOUND_TALK);
    this._hook("onCallEstablish", call.connid, call.caller, {
      contactId: call.contactId, callee: call.callee, direction: call.direction
    });
  };

  proto._released = function (call, lastState) {
    var type;
    if (lastState === "ringing") type = call.direction === "inbound" ? "ringing" : "dialing";
    else type = call.direction;
    this._call = null;
    this._hook("onCallRelease", call.connid, call.caller, call.contactId);
    this._hook("onHangUp", type);
    var acw = Number(this.config.afterCallRule) || 0;
    if (acw > 0 && this._idle === S.READY && lastState !== "ringing") {
      this._afterCallWork(acw);
    } else {
      this._setStatus(this._idle);
    }
  };

  // afterCallRule: seconds of after-call work (status 5, no new calls) before ready again.
  proto._afterCallWork = function (seconds) {
    var self = this;
    this._setStatus(S.AFTER_CALL_WORK);
    this._setAgentStatus("BREAK").then(function () {
      global.setTimeout(function () {
        if (self._status === S.AFTER_CALL_WORK) self.ready();
      }, seconds * 1000);
    }, function () { /* reported by onErrorNotify */ });
  };

  proto._onCall = function (call) {
    var prev = this._call;
    if (prev && (!call || call.connid !== prev.connid)) {
      this._released(prev, prev.state);
      prev = null;
    }
    if (!call || call.state === "released" && !prev) return;
    this._call = call;
    if (!prev) {
      if (call.direction === "inbound" && call.state === "ringing") {
        this._setStatus(S.RINGING);
        this._hook("onCallComing", call.connid, call.caller, call.callee, call.contactId,
          call.skillGroupId);
        if (this.config.autoAnswerCall) this.answer();
      } else if (call.state === "ringing") {
        this._setStatus(S.DIALING);
        this._hook("onCallDialing", call.connid, call.caller, call.callee, call.contactId);
      } else {
        this._established(call);
        if (call.state === "held") this._setStatus(S.HOLD);
      }
      return;
    }
    if (prev.state === call.state) { this._draw(); return; }
    if (call.state === "released") this._released(call, prev.state);
    else if (call.state === "held") this._setStatus(S.HOLD);
    else if (call.state === "talking" && prev.state === "held") {
      this._setStatus(call.direction === "inbound" ? S.INBOUND_TALK : S.OUTBOUND_TALK);
    } else if (call.state === "talking") this._established(call);
  };

  // A call already live at the agent server when the softphone registers (as after a reload):
  // replay its course, so the page's hooks see it as they would have live: onCallComing (6) or
  // onCallDialing (8), then onCallEstablish (9/10) once answered, then 12 when on hold.
  proto._resumeCall = function (call) {
    if (!call || call.state === "released" || this._call) return;
    if (call.state === "ringing") { this._onCall(call); return; }
    this._call = call;
    if (call.direction === "inbound") {
      this._setStatus(S.RINGING);
      this._hook("onCallComing", call.connid, call.caller, call.callee, call.contactId,
        call.skillGroupId);
    } else {
      this._setStatus(S.DIALING);
      this._hook("onCallDialing", call.connid, call.caller, call.callee, call.contactId);
    }
    this._established(call);
    if (call.state === "held") this._setStatus(S.HOLD);
  };

  proto._guard = function (api, allowed) {
    if (allowed.indexOf(this._status) >= 0) return true;
    this._error(api, "StatusNotAllowed",
      api + " is not allowed in status " + this._status + " (" + LABELS[this._status] + ").");
    return false;
  };

  proto._setAgentStatus = function (status, groups) {
    var fields = { status: status };
    if (groups) fields.skillGroupIds = groups.join(",");
    return this._agent("state", fields);
  };

  // --- public methods (1.x) ---------------------------------------------------------------------

  proto.register = function (skillGroups, accessPoint) {
    var self = this;
    if (!this._guard("register", [S.UNREGISTERED, S.SIGNED_OUT])) return Promise.resolve(false);
    this._setStatus(S.REGISTERING);
    return this._loadAgent().then(function (ok) {
      if (!ok) throw new Error("login info unavailable");
      var all = self._skillLevels.map(function (l) { return l.skill.skillGroupId; });
      var wanted = (skillGroups || []).map(function (g) {
        return typeof g === "object" ? g.skillGroupId : String(g);
      }).filter(function (g) { return all.indexOf(g) >= 0; });
      self._groups = wanted.length ? wanted : all;
      // Back mid-call (a reload): keep the Ready/Break the agent had, so it returns there.
      var was = self._waiting && self._waiting.status;
      return self._setAgentStatus(was === "READY" || was === "BREAK" ? was : "SIGNED_IN",
        self._groups);
    }).then(function (data) {
      self._waiting = null;
      self._setStatus({ READY: S.READY, BREAK: S.BREAK }[data.status] || S.SIGNED_IN);
      self._hook("onRegister", {
        loginInfo: self._loginInfo, skillGroups: self._groups, accessPoint: accessPoint || null
      });
      self._hook("onLogIn");
      self._resumeCall(data.call);
      self._startPolling();
      return true;
    }).catch(function () {
      self._status = S.UNREGISTERED;
      self._draw();
      return false;
    });
  };

  proto._change = function (api, allowed, agentStatus, code, hook) {
    var self = this;
    if (!this._guard(api, allowed)) return Promise.resolve(false);
    return this._setAgentStatus(agentStatus, agentStatus === "SIGNED_IN" ? this._groups : null)
      .then(function () {
        self._setStatus(code);
        if (code === S.SIGNED_OUT) self._stopPolling(); else self._startPolling();
        self._hook(hook);
        return true;
      }, function () { return false; });
  };

  proto.logIn = function () {
    return this._change("logIn", [S.SIGNED_OUT], "SIGNED_IN", S.SIGNED_IN, "onLogIn");
  };

  proto.logOut = function () {
    return this._change("logOut", [S.SIGNED_IN, S.READY, S.BREAK, S.AFTER_CALL_WORK], "OFFLINE",
      S.SIGNED_OUT, "onLogOut");
  };

  proto.ready = function () {
    return this._change("ready", [S.SIGNED_IN, S.BREAK, S.AFTER_CALL_WORK], "READY", S.READY,
      "onReady");
  };

  proto.applyForBreak = function (breakId, breakName) {
    this._breakReason = { id: breakId, name: breakName };
    return this._change("applyForBreak", [S.SIGNED_IN, S.READY, S.AFTER_CALL_WORK], "BREAK",
      S.BREAK, "onBreak");
  };

  proto.call = function (callee, caller) {
    var self = this;
    if (!this._guard("call", [S.READY, S.BREAK, S.AFTER_CALL_WORK])) return Promise.resolve(false);
    return this._agent("call", { callee: callee, caller: caller || "" }).then(function (data) {
      self._onCall(data.call);
      return true;
    }, function () { return false; });
  };

  proto._callCommand = function (api, command, allowed) {
    var self = this;
    if (!this._call || !this._guard(api, allowed)) {
      if (!this._call) this._error(api, "NoCall", "There is no call.");
      return Promise.resolve(false);
    }
    // A second click while this action's request is under way (a double click) is ignored:
    // sent, the agent server would refuse it and leave a stale error on show.
    if (this._busy[api]) return Promise.resolve(false);
    this._busy[api] = true;
    return this._agent(command, { connid: this._call.connid }).then(function (data) {
      self._showError("");  // it succeeded: an earlier error is no longer true
      self._onCall(data.call);
      return true;
    }, function () { return false; }).finally(function () { delete self._busy[api]; });
  };

  proto.answer = function () {
    return this._callCommand("answer", "answer", [S.RINGING]);
  };

  proto.hangUp = function () {
    return this._callCommand("hangUp", "hangup",
      [S.RINGING, S.DIALING, S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD]);
  };

  proto.callHold = function () {
    return this._callCommand("callHold", "hold", [S.INBOUND_TALK, S.OUTBOUND_TALK]);
  };

  proto.callRetrieve = function () {
    return this._callCommand("callRetrieve", "retrieve", [S.HOLD]);
  };

  proto.getStatusCode = function () {
    return this._status;
  };

  proto.changeVisible = function (visible) {
    this._visible = !!visible;
    if (this._root) this._root.hidden = !this._visible;
  };

  // --- the panel --------------------------------------------------------------------------------

  proto._render = function () {
    var host = this.config.dom;
    if (typeof host === "string") host = document.getElementById(host);
    if (!host) return;
    var self = this;
    var root = el("div", { "class": "wbsdk", role: "region", "aria-label": gettext("Softphone") });
    if (this.config.width) root.style.width = this.config.width + "px";
    if (this.config.height) root.style.minHeight = this.config.height + "px";
    if (this.config.header !== false) {
      root.appendChild(el("div", { "class": "wbsdk-header" }, "Softphone"));
    }
    var head = el("div", { "class": "wbsdk-head" });
    this._statusEl = el("span", { "class": "wbsdk-status", "aria-live": "polite" });
    this._agentEl = el("span", { "class": "wbsdk-agent" });
    head.appendChild(this._statusEl);
    head.appendChild(this._agentEl);
    root.appendChild(head);
    this._errorEl = el("div", { "class": "wbsdk-error", role: "alert" });
    root.appendChild(this._errorEl);
    this._groupsEl = el("fieldset", { "class": "wbsdk-groups" });
    root.appendChild(this._groupsEl);
    this._callEl = el("div", { "class": "wbsdk-callinfo" });
    root.appendChild(this._callEl);
    var dial = el("div", { "class": "wbsdk-dial" });
    this._numberEl = el("input", {
      "class": "wbsdk-number", type: "tel", placeholder: gettext("Number to call"),
      "aria-label": gettext("Number to call")
    });
    dial.appendChild(this._numberEl);
    var pad = el("div", { "class": "wbsdk-pad" });
    "123456789*0#".split("").forEach(function (d) {
      var b = el("button", { type: "button", "class": "wbsdk-digit" }, d);
      b.addEventListener("click", function () { self._numberEl.value += d; });
      pad.appendChild(b);
    });
    dial.appendChild(pad);
    root.appendChild(dial);
    var controls = el("div", { "class": "wbsdk-controls" });
    this._buttons = {};
    [
      ["signin", gettext("Sign in"), function () { self.register(self._checkedGroups()); }],
      ["call", gettext("Call"), function () { self.call(self._numberEl.value.trim()); }],
      ["answer", gettext("Answer"), function () { self.answer(); }],
      ["hangup", gettext("Hang up"), function () { self.hangUp(); }],
      ["hold", gettext("Hold"), function () { self.callHold(); }],
      ["retrieve", gettext("Retrieve"), function () { self.callRetrieve(); }],
      ["ready", gettext("Ready"), function () { self.ready(); }],
      ["break", gettext("Break"), function () { self.applyForBreak(); }],
      ["signout", gettext("Sign out"), function () { self.logOut(); }]
    ].forEach(function (spec) {
      var b = el("button", { type: "button", "class": "wbsdk-" + spec[0] }, spec[1]);
      b.addEventListener("click", spec[2]);
      self._buttons[spec[0]] = b;
      controls.appendChild(b);
    });
    root.appendChild(controls);
    root.hidden = !this._visible;
    host.appendChild(root);
    this._root = root;
    this._draw();
  };

  proto._checkedGroups = function () {
    if (!this._groupsEl) return [];
    return Array.prototype.map.call(
      this._groupsEl.querySelectorAll("input:checked"), function (i) { return i.value; });
  };

  proto._drawGroups = function () {
    if (!this._groupsEl) return;
    var box = this._groupsEl;
    box.textContent = "";
    box.appendChild(el("legend", {}, gettext("Skill groups")));
    (this._skillLevels || []).forEach(function (level) {
      var label = el("label", {});
      var input = el("input", { type: "checkbox", value: level.skill.skillGroupId });
      input.checked = true;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + level.skill.skillGroupName));
      box.appendChild(label);
    });
    if (this._loginInfo && this._agentEl) {
      this._agentEl.textContent =
        this._loginInfo.displayName + " \u00b7 " +
        fill(gettext("ext. %(extension)s"), { extension: this._loginInfo.extension });
    }
  };

  proto._showError = function (text) {
    if (this._errorEl) this._errorEl.textContent = text || "";
  };

  proto._draw = function () {
    if (!this._root) return;
    var s = this._status, call = this._call, b = this._buttons;
    this._statusEl.textContent = gettext(LABELS[s]);
    this._root.setAttribute("data-status", String(s));
    if (s === S.READY || s === S.SIGNED_IN) this._showError("");
    var waiting = s === S.UNREGISTERED && this._waiting && this._waiting.call;
    var shown = call || waiting;
    // shown.state is the protocol's word (CCC), shown as it is.
    this._callEl.textContent = shown
      ? (waiting ? gettext("Call in progress:") + " " : "") +
        (shown.direction === "inbound"
          ? fill(gettext("From %(number)s"), { number: shown.caller || gettext("withheld number") })
          : fill(gettext("To %(number)s"), { number: shown.callee })) +
        " \u00b7 " + shown.state + (waiting ? ". " + gettext("Sign in to resume it.") : "")
      : "";
    this._groupsEl.hidden = !(s === S.UNREGISTERED || s === S.SIGNED_OUT);
    b.signin.disabled = !(s === S.UNREGISTERED || s === S.SIGNED_OUT);
    b.call.disabled = [S.READY, S.BREAK, S.AFTER_CALL_WORK].indexOf(s) < 0;
    b.answer.disabled = s !== S.RINGING;
    b.hangup.disabled =
      [S.RINGING, S.DIALING, S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD].indexOf(s) < 0;
    b.hold.disabled = [S.INBOUND_TALK, S.OUTBOUND_TALK].indexOf(s) < 0;
    b.retrieve.disabled = s !== S.HOLD;
    b.ready.disabled = [S.SIGNED_IN, S.BREAK, S.AFTER_CALL_WORK].indexOf(s) < 0;
    b["break"].disabled = [S.SIGNED_IN, S.READY, S.AFTER_CALL_WORK].indexOf(s) < 0;
    b.signout.disabled = [S.SIGNED_IN, S.READY, S.BREAK, S.AFTER_CALL_WORK].indexOf(s) < 0;
  };

  global.WorkbenchSdk = WorkbenchSdk;
})(window);
