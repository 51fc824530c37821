/*
 * Stand-in for Alibaba Cloud CCC's softphone SDK 2.x (web-workbench-sdk 1.1.x, API 2020-07-01),
 * for the sandbox.
 *
 * Same global (window.WorkbenchSdk), required config (dom, instanceId, regionId), ajax options,
 * object-argument hooks, methods and 2.x status codes as the real SDK (the 2.x page
 * "软电话前端SDK文档接入" of the public AlibabaCloudDocs/ccc repository; docs/ccc-2x.md).
 * Kept ASCII so that any page charset reads it. Every OpenAPI call goes through the CRM's proxy
 * in the 2.x URL form:
 *   POST {ajaxOrigin}{ajaxPath}?{ajaxApiParamName || "action"}=<Api>&product=CloudCallCenter
 *        &version=2020-07-01&region=<regionId>
 *   form body: request=<JSON of the parameters> plus ajaxOtherParams; headers ajaxHeaders.
 * and reads the public OpenAPI answers ({RequestId, Code, HttpStatusCode, Message, Data});
 * any other Code reaches onErrorNotify with its code and request id.
 *
 * Where the real SDK learns call events over SIP/WebRTC from Alibaba's agent server, this one
 * polls the sandbox's agent server (GetLoginDetails' AgentServerUrl, authenticated by its
 * UserKey/Signature pair). Call control itself is OpenAPI (MakeCall, AnswerCall, ...).
 */
(function (global) {
  "use strict";

  var S = {
    UNREGISTERED: -1, REGISTERING: 0, OFFLINE: 1, BREAK: 2, READY: 3, AFTER_CALL_WORK: 5,
    RINGING: 6, DIALING: 8, INBOUND_TALK: 9, OUTBOUND_TALK: 10, HOLD: 12
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
    "-1": gettext_noop("Unregistered"), 0: gettext_noop("Registering"), 1: gettext_noop("Offline"), 2: gettext_noop("Break"), 3: gettext_noop("Ready"),
    5: gettext_noop("After-call work"), 6: gettext_noop("Ringing"), 8: gettext_noop("Dialing"), 9: gettext_noop("Inbound call"), 10: gettext_noop("Outbound call"),
    12: gettext_noop("On hold")
  };
  // The agent server's status (sandbox AgentState) when there is no call -> 2.x code.
  var IDLE_CODES = { OFFLINE: S.OFFLINE, SIGNED_IN: S.BREAK, BREAK: S.BREAK, READY: S.READY,
    WORKING: S.AFTER_CALL_WORK };
  var POLL_MS = 500;
  var ON_CALL = [S.RINGING, S.DIALING, S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD];
  var IDLE = [S.BREAK, S.READY, S.AFTER_CALL_WORK];

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
    config = config || {};
    // Development errors, thrown as the real SDK does for a bad config.
    ["dom", "instanceId", "regionId"].forEach(function (name) {
      if (!config[name]) throw new Error("WorkbenchSdk: config." + name + " is required");
    });
    this.config = config;
    this._status = S.UNREGISTERED;
    this._call = null;             // the call being tracked (agent-server JSON)
    this._context = null;          // its latest CallContext from an OpenAPI answer
    this._details = null;          // GetLoginDetails' Data
    this._levels = null;           // ListSkillLevelsOfUser's Data.List
    this._loading = null;          // the start-up's calls while under way (_loadAgent)
    this._deviceId = "";
    this._timer = null;
    this._acwTimer = null;
    this._seq = 0;                 // bumped by every command, so stale polls are ignored
    this._commands = 0;            // OpenAPI commands under way (polls wait for them)
    this._busy = {};               // call actions ("AnswerCall"...) whose request is under way
    this._visible = config.defaultVisible !== false;
    this._render();
    this._hook("onInit");
    var self = this;
    this._loadAgent().then(function () { self._drawGroups(); });
  }

  WorkbenchSdk.STATUS = S;
  var proto = WorkbenchSdk.prototype;

  // --- hooks and errors -------------------------------------------------------------------------

  proto._hook = function (name, arg) {
    var fn = this.config[name];
    if (typeof fn !== "function") return;
    try {
      fn.call(this, arg);
    } catch (e) {
      if (global.console) global.console.warn("WorkbenchSdk " + name + " hook failed", e);
    }
  };

  // The proxy's answers after which a poll cannot recover by itself.
  var STOP_POLLING_CODES = ["LoginRequired", "NotAuthenticated", "CsrfFailed"];

  proto._error = function (code, message, requestId) {
    var tips = {
      9001: gettext("Not possible in the current status."),
      NotAuthenticated: gettext("Link your Alibaba Cloud account first."),
      LoginRequired: gettext("Your CRM sign-in has ended: reload the page and sign in again."),
      UserBusy: gettext("You are on a call."),
      "Permission.Denied": gettext("Not allowed (signed in on another device?).")
    };
    var error = {
      errorCode: code, errorMsg: message || "", errorMsgTip: tips[code] || message || code,
      requestId: requestId || ""
    };
    this._showError(error.errorMsgTip + (requestId ? " (" + requestId + ")" : ""));
    this._hook("onErrorNotify", error);
    return error;
  };

  // --- OpenAPI through the CRM's proxy ----------------------------------------------------------

  // An OpenAPI call through the proxy. A failure is reported (onErrorNotify) and thrown; with
  // `deferReport` it is only thrown, as {report: function}, for the caller to report it or not.
  proto._api = function (api, params, deferReport) {
    var c = this.config, self = this;
    var fail = function (code, message, requestId) {
      var report = function () { return self._error(code, message, requestId); };
      return deferReport ? { report: report } : report();
    };
    var path = c.ajaxPath || "/data/api.json";
    var query = new URLSearchParams();
    query.append(c.ajaxApiParamName || "action", api);
    query.append("product", "CloudCallCenter");
    query.append("version", "2020-07-01");
    query.append("region", c.regionId);
    var url = (c.ajaxOrigin || "") + path + (path.indexOf("?") >= 0 ? "&" : "?") + query;
    var request = Object.assign({ instanceId: c.instanceId }, params || {});
    var fields = Object.assign({}, c.ajaxOtherParams || {}, { request: JSON.stringify(request) });
    var headers = Object.assign(
      { "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8" }, c.ajaxHeaders || {});
    var method = (c.ajaxMethod || "post").toUpperCase();
    var init = {
      method: method, headers: headers, credentials: c.withCredentials ? "include" : "same-origin"
    };
    if (method === "GET") {
      url += "&" + formBody(fields).toString();
      delete headers["Content-Type"];
    } else {
      init.body = formBody(fields);
    }
    return fetch(url, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok || data.Code !== "OK") {
          throw fail(data.Code || "HttpError" + resp.status, data.Message || resp.statusText,
            data.RequestId);
        }
        return data.Data;
      });
    }, function (e) {
      throw fail("NetworkError", String(e && e.message || e));
    });
  };

  // The agent's login details and skill levels. Both calls at once (neither needs the other's
  // answer), and one start-up at a time: a register() while the constructor's is under way
  // waits for it instead of asking again.
  proto._loadAgent = function () {
    var self = this;
    if (this._details && this._levels) return Promise.resolve(true);
    if (!this._loading) {
      this._loading = Promise.allSettled([
        this._api("GetLoginDetails", {}, true),
        this._api("ListSkillLevelsOfUser", { pageSize: 100 }, true)
      ]).then(function (answers) {
        // One report for the start-up, the first call's (as when they ran one after the other).
        var failed = answers.filter(function (a) { return a.status === "rejected"; })[0];
        if (failed) {
          if (failed.reason && failed.reason.report) failed.reason.report();
          return false;
        }
        self._details = answers[0].value;
        self._levels = answers[1].value.List || [];
        return true;
      }).catch(function () { return false; }).then(function (ok) {
        self._loading = null;
        return ok;
      });
    }
    return this._loading;
  };

  // --- call events from the sandbox's agent server ----------------------------------------------

  proto._poll = function () {
    var self = this, d = this._details;
    var fields = { signData: d.UserKey, signature: d.Signature };
    if (this._call) fields.connid = this._call.connid;
    return fetch(d.AgentServerUrl + "poll", {
      method: "POST", mode: "cors", credentials: "omit", body: formBody(fields)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401) {
          // The pair expired: fresh details carry a fresh one (and keep this device).
          return self._api("GetLoginDetails", {}).then(function (fresh) {
            d.UserKey = fresh.UserKey;
            d.Signature = fresh.Signature;
            return null;
          }, function (err) {
            // The CRM refused as well (its sign-in or the account link is gone): polling again
            // cannot help, so stop until the agent signs in again (no request loop).
            if (err && STOP_POLLING_CODES.indexOf(err.errorCode) >= 0) self._stopPolling();
            return null;
          });
        }
        if (!resp.ok) throw new Error(data.message || resp.statusText);
        self._pollFailing = false;
        return data;
      });
    }).catch(function (e) {
      if (!self._pollFailing) self._error("NetworkError", String(e && e.message || e));
      self._pollFailing = true;
      return null;
    });
  };

  proto._startPolling = function () {
    var self = this;
    if (this._timer) return;
    var tick = function () {
      var seq = self._seq;
      self._poll().then(function (data) {
        // A command answered, or still under way, since this poll left: its news is newer.
        if (data && seq === self._seq && !self._commands) self._onPoll(data);
      }).then(function () {
        if (self._timer) self._timer = global.setTimeout(tick, self.config.pollInterval || POLL_MS);
      });
    };
    this._timer = global.setTimeout(tick, 0);
  };

  proto._stopPolling = function () {
    if (this._timer) global.clearTimeout(this._timer);
    this._timer = null;
  };

  proto._onPoll = function (data) {
    this._onCall(data.call);
    if (!this._call && data.status && IDLE_CODES[data.status] != null &&
        this._status !== S.UNREGISTERED && this._status !== S.REGISTERING) {
      this._setStatus(IDLE_CODES[data.status]);
    }
  };

  // --- call state -------------------------------------------------------------------------------

  function jobIdOf(call) { return "job-" + call.contactId; }

  // callDetail of the hooks: {caller, callee, callType, jobId, callContext}. callContext is the
  // OpenAPI CallContext when an answer gave one, else one built from the agent server's call.
  proto._detail = function (call) {
    var jobId = jobIdOf(call);
    var context = this._context && this._context.JobId === jobId ? this._context : {
      InstanceId: this.config.instanceId, JobId: jobId,
      CallType: call.direction === "inbound" ? "INBOUND" : "OUTBOUND",
      ChannelContexts: [{
        JobId: jobId, UserId: this._details && this._details.UserId,
        Originator: call.direction === "inbound" ? call.caller : this._details.Extension,
        Destination: call.direction === "inbound" ? this._details.Extension : call.callee
      }]
    };
    return {
      caller: call.caller, callee: call.callee, callType: context.CallType, jobId: jobId,
      callContext: context
    };
  };

  proto._setStatus = function (code) {
    var last = this._status;
    if (code === last) return;
    this._status = code;
    this._showError("");  // an error of the last status (e.g. a refused double click) is stale
    this._draw();
    this._hook("onStatusChange", {
      code: code, lastCode: last,
      context: { statusName: LABELS[code], jobId: this._call ? jobIdOf(this._call) : null }
    });
    if (code === S.AFTER_CALL_WORK) this._afterCallWork();
  };

  // afterCallRule: seconds of after-call work before ready again (default 15), or "manual".
  proto._afterCallWork = function () {
    var self = this, rule = this.config.afterCallRule;
    var seconds = rule === "manual" ? 0 : (rule == null ? 15 : Number(rule) || 0);
    global.clearTimeout(this._acwTimer);
    if (seconds > 0) {
      this._acwTimer = global.setTimeout(function () {
        if (self._status === S.AFTER_CALL_WORK) self.ready();
      }, seconds * 1000);
    }
  };

  proto._talkCode = function (call) {
    return call.direction === "inbound" ? S.INBOUND_TALK : S.OUTBOUND_TALK;
  };

  proto._released = function (call, lastState) {
    var type;
    if (lastState === "ringing") type = call.direction === "inbound" ? "ringing" : "dialing";
    else type = call.direction;
    var detail = this._detail(call);
    this._call = null;
    this._context = null;
    this._hook("onCallRelease", { callContext: detail.callContext });
    this._hook("onHangUp", type);
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
        this._hook("onCallComing", this._detail(call));
        var auto = Number(this.config.autoAnswerCall) || 0;
        if (auto > 0) {
          var self = this, connid = call.connid;
          global.setTimeout(function () {
            if (self._call && self._call.connid === connid && self._status === S.RINGING) {
              self.answer();
            }
          }, auto * 1000);
        }
      } else if (call.state === "ringing") {
        this._setStatus(S.DIALING);
        this._hook("onCallDialing", this._detail(call));
      } else {
        this._established(call);
        if (call.state === "held") this._setStatus(S.HOLD);
      }
      return;
    }
    if (prev.state === call.state && prev.muted === call.muted) { this._draw(); return; }
    if (call.state === "released") this._released(call, prev.state);
    else if (call.state === "held") this._setStatus(S.HOLD);
    else if (call.state === "talking" && prev.state === "held") this._setStatus(this._talkCode(call));
    else if (call.state === "talking" && prev.state !== "talking") this._established(call);
    this._draw();
  };

  proto._established = function (call) {
    this._setStatus(this._talkCode(call));
    this._hook("onCallEstablish", { callContext: this._detail(call).callContext });
  };

  // --- OpenAPI commands -------------------------------------------------------------------------

  proto._guard = function (api, allowed) {
    if (allowed.indexOf(this._status) >= 0) return true;
    this._error(9001, api + " is not allowed in status " + this._status + " (" +
      LABELS[this._status] + ").");
    return false;
  };

  // Run an agent action; its answer's UserContext/CallContext update the panel. Resolves true
  // when the action succeeded.
  proto._command = function (api, params, allowed) {
    var self = this;
    if (allowed && !this._guard(api, allowed)) return Promise.resolve(false);
    this._seq += 1;
    this._commands += 1;
    var done = function () { self._commands -= 1; self._seq += 1; };
    return this._api(api, Object.assign({ deviceId: this._deviceId }, params || {}))
      .then(function (data) {
        done();
        if (data && data.CallContext) self._context = data.CallContext;
        return data || {};
      }, function (error) {
        done();
        throw error;
      });
  };

  proto._stateCommand = function (api, allowed, code, hook, params) {
    var self = this;
    return this._command(api, params, allowed).then(function (data) {
      if (data === false) return false;
      if (!self._call) self._setStatus(code);
      if (code === S.OFFLINE) self._stopPolling(); else self._startPolling();
      if (hook) self._hook(hook);
      return true;
    }, function () { return false; });
  };

  proto._groupIds = function (skillGroups) {
    var all = (this._levels || []).map(function (l) { return l.SkillGroupId; });
    var wanted = (skillGroups || []).map(function (g) {
      return typeof g === "object" ? g.skillGroupId : String(g);
    }).filter(function (g) { return all.indexOf(g) >= 0; });
    return wanted.length ? wanted : all;
  };

  proto._signIn = function (skillGroups) {
    return this._command("SignInGroup", {
      signedSkillGroupIdList: JSON.stringify(this._groupIds(skillGroups))
    });
  };

  // --- public methods (2.x) ---------------------------------------------------------------------

  proto.isAvailBroswer = function () { return typeof global.fetch === "function"; };
  proto.checkNetwork = function () { return Promise.resolve(true); };
  proto.reRender = function () { this._draw(); };

  // register = SIP registration + sign in + ready (the 2.x page). A call still live at the
  // agent server (a reload) is resumed instead of going ready.
  proto.register = function (skillGroups, accessPoint) {
    var self = this;
    if (!this._guard("register", [S.UNREGISTERED])) return Promise.resolve(false);
    this._setStatus(S.REGISTERING);
    return this._loadAgent().then(function (ok) {
      if (!ok) throw new Error("login details unavailable");
      self._deviceId = self._details.DeviceId;
      return self._signIn(skillGroups);
    }).then(function (context) {
      self._hook("onRegister", {
        userId: self._details.UserId, deviceId: self._deviceId, accessPoint: accessPoint || "default"
      });
      self._hook("onLogIn");
      if (context.JobId) {
        self._setStatus(S.BREAK);
        self._startPolling();
        return true;
      }
      return self._command("ReadyForService").then(function () {
        self._setStatus(S.READY);
        self._hook("onReady");
        self._startPolling();
        return true;
      });
    }).catch(function () {
      self._status = S.UNREGISTERED;
      self._draw();
      return false;
    });
  };

  proto.logIn = function (skillGroups) {
    var self = this;
    if (!this._guard("logIn", [S.OFFLINE])) return Promise.resolve(false);
    return this._signIn(skillGroups).then(function () {
      self._setStatus(S.BREAK);
      self._startPolling();
      self._hook("onLogIn");
      return true;
    }, function () { return false; });
  };

  proto.logOut = function () {
    return this._stateCommand("SignOutGroup", IDLE, S.OFFLINE, "onLogOut");
  };

  proto.ready = function () {
    global.clearTimeout(this._acwTimer);
    return this._stateCommand("ReadyForService", [S.BREAK, S.AFTER_CALL_WORK], S.READY, "onReady");
  };

  proto.applyForBreak = function (breakReason) {
    return this._stateCommand("TakeBreak", [S.READY, S.AFTER_CALL_WORK], S.BREAK, "onBreak",
      { code: breakReason || "default" });
  };

  proto.call = function (callee, caller) {
    var self = this;
    if (!this._guard("call", IDLE)) return Promise.resolve(false);
    var dial = function (number) {
      return self._command("MakeCall", {
        callee: number || callee, caller: caller === "auto" ? "" : caller || ""
      }).then(function () {
        // The agent server's record of the new call brings onCallDialing (status 8).
        return self._poll().then(function (polled) {
          if (polled) self._onPoll(polled);
          return true;
        });
      }, function () { return false; });
    };
    if (typeof this.config.onBeforeCallDialing === "function") {
      return new Promise(function (resolve) {
        self._hook("onBeforeCallDialing", {
          callee: callee, userId: self._details && self._details.UserId,
          callback: function (number) { resolve(dial(number)); }
        });
      });
    }
    return dial();
  };

  proto._callCommand = function (api, allowed, params) {
    var self = this;
    if (!this._call) {
      this._error(9001, "There is no call.");
      return Promise.resolve(false);
    }
    // A second click while this action's request is under way (a double click) is ignored:
    // sent, the server would refuse it ("the call is talking") and show a stale error.
    if (this._busy[api]) return Promise.resolve(false);
    var call = this._call;
    this._busy[api] = true;
    var free = function () { delete self._busy[api]; };
    return this._command(api, Object.assign({ jobId: jobIdOf(call) }, params || {}), allowed)
      .then(function (data) {
        if (data === false) return false;
        self._showError("");  // it succeeded: an earlier error is no longer true
        return self._poll().then(function (polled) {
          if (polled) self._onPoll(polled);
          return true;
        });
      }, function () { return false; })
      .finally(free);
  };

  proto.answer = function () {
    return this._callCommand("AnswerCall", [S.RINGING]);
  };

  proto.hangUp = function () {
    var self = this, call = this._call;
    var release = function () {
      return self._callCommand("ReleaseCall", ON_CALL);
    };
    if (call && typeof this.config.onBeforeCallHangup === "function") {
      return new Promise(function (resolve) {
        self._hook("onBeforeCallHangup", {
          jobId: jobIdOf(call), channelId: "", userId: self._details.UserId,
          callback: function () { resolve(release()); }
        });
      });
    }
    return release();
  };

  proto.callHold = function () {
    return this._callCommand("HoldCall", [S.INBOUND_TALK, S.OUTBOUND_TALK]);
  };

  proto.callRetrieve = function () {
    return this._callCommand("RetrieveCall", [S.HOLD]);
  };

  proto.muteAgent = function () {
    return this._callCommand("MuteCall", [S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD]);
  };

  proto.umMuteAgent = function () {
    return this._callCommand("UnmuteCall", [S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD]);
  };

  proto.sendDtmf = function (digit) {
    return this._callCommand("SendDtmfSignaling", [S.INBOUND_TALK, S.OUTBOUND_TALK],
      { dtmf: String(digit) });
  };

  // Transfer the call to an agent (callee: its extension or UserId) without consulting.
  proto.thirdCallTransfer = function (callee, caller) {
    return this._callCommand("BlindTransfer", [S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD],
      { transferee: callee, transfereeType: "Agent", transferor: caller || "" });
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
    var root = el("div", { "class": "wbsdk wbsdk-v2", role: "region", "aria-label": gettext("Softphone") });
    if (this.config.width) root.style.width = parseInt(this.config.width, 10) + "px";
    if (this.config.height) root.style.minHeight = parseInt(this.config.height, 10) + "px";
    if (this.config.header !== false) {
      root.appendChild(el("div", { "class": "wbsdk-header" }, gettext("Softphone 2.x")));
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
      "class": "wbsdk-number", type: "tel", placeholder: gettext("Number or agent"),
      "aria-label": gettext("Number to call or agent to transfer to")
    });
    dial.appendChild(this._numberEl);
    root.appendChild(dial);
    var controls = el("div", { "class": "wbsdk-controls" });
    this._buttons = {};
    [
      ["signin", gettext("Sign in"), function () {
        if (self._status === S.OFFLINE) self.logIn(self._checkedGroups());
        else self.register(self._checkedGroups());
      }],
      ["call", gettext("Call"), function () { self.call(self._numberEl.value.trim()); }],
      ["answer", gettext("Answer"), function () { self.answer(); }],
      ["hangup", gettext("Hang up"), function () { self.hangUp(); }],
      ["hold", gettext("Hold"), function () { self.callHold(); }],
      ["retrieve", gettext("Retrieve"), function () { self.callRetrieve(); }],
      ["mute", gettext("Mute"), function () { self.muteAgent(); }],
      ["unmute", gettext("Unmute"), function () { self.umMuteAgent(); }],
      ["transfer", gettext("Transfer"), function () { self.thirdCallTransfer(self._numberEl.value.trim()); }],
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
    (this._levels || []).forEach(function (level) {
      var label = el("label", {});
      var input = el("input", { type: "checkbox", value: level.SkillGroupId });
      input.checked = true;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + level.SkillGroupName));
      box.appendChild(label);
    });
    if (this._details && this._agentEl) {
      this._agentEl.textContent =
        this._details.DisplayName + " \u00b7 " +
        fill(gettext("ext. %(extension)s"), { extension: this._details.Extension });
    }
  };

  proto._showError = function (text) {
    if (this._errorEl) this._errorEl.textContent = text || "";
  };

  proto._draw = function () {
    if (!this._root) return;
    var s = this._status, call = this._call, b = this._buttons;
    var talking = [S.INBOUND_TALK, S.OUTBOUND_TALK, S.HOLD].indexOf(s) >= 0;
    this._statusEl.textContent = gettext(LABELS[s]);
    this._root.setAttribute("data-status", String(s));
    this._root.setAttribute("data-muted", String(!!(call && call.muted)));
    if (s === S.READY) this._showError("");
    // call.state is the protocol's word (CCC), shown as it is.
    this._callEl.textContent = call
      ? (call.direction === "inbound"
        ? fill(gettext("From %(number)s"), { number: call.caller || gettext("withheld number") })
        : fill(gettext("To %(number)s"), { number: call.callee })) +
        " \u00b7 " + call.state + (call.muted ? " \u00b7 " + gettext("muted") : "")
      : "";
    this._groupsEl.hidden = !(s === S.UNREGISTERED || s === S.OFFLINE);
    b.signin.disabled = !(s === S.UNREGISTERED || s === S.OFFLINE);
    b.call.disabled = IDLE.indexOf(s) < 0;
    b.answer.disabled = s !== S.RINGING;
    b.hangup.disabled = ON_CALL.indexOf(s) < 0;
    b.hold.disabled = [S.INBOUND_TALK, S.OUTBOUND_TALK].indexOf(s) < 0;
    b.retrieve.disabled = s !== S.HOLD;
    b.mute.disabled = !talking || !!(call && call.muted);
    b.unmute.disabled = !talking || !(call && call.muted);
    b.transfer.disabled = !talking;
    b.ready.disabled = [S.BREAK, S.AFTER_CALL_WORK].indexOf(s) < 0;
    b["break"].disabled = [S.READY, S.AFTER_CALL_WORK].indexOf(s) < 0;
    b.signout.disabled = IDLE.indexOf(s) < 0;
  };

  global.WorkbenchSdk = WorkbenchSdk;
})(window);
