/* Call simulator page: poll calls.json and redraw the agents and calls tables. Plain JS; its
   words come from Django's JavaScript catalogue (gettext, loaded by the page before this file). */
(function () {
  "use strict";
  var csrf = document.querySelector("form.ring input[name=csrfmiddlewaretoken]").value;

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function button(connid, what, label) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "calls/" + encodeURIComponent(connid) + "/" + what;
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    var b = document.createElement("button");
    b.type = "submit";
    b.textContent = label;
    b.className = what;
    form.appendChild(token);
    form.appendChild(b);
    return form;
  }

  function drawAgents(agents) {
    var body = document.querySelector("#agents tbody");
    body.textContent = "";
    agents.forEach(function (a) {
      var tr = document.createElement("tr");
      cell(tr, a.name + " (" + a.upn + ")");
      cell(tr, a.extension);
      cell(tr, a.status);
      body.appendChild(tr);
    });
  }

  function drawCalls(calls) {
    var body = document.querySelector("#calls tbody");
    body.textContent = "";
    if (!calls.length) {
      var empty = document.createElement("tr");
      cell(empty, gettext("No calls yet.")).colSpan = 8;
      body.appendChild(empty);
      return;
    }
    calls.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.dataset.connid = c.connid;
      tr.className = c.state;
      cell(tr, c.createdAt);
      cell(tr, c.direction);
      cell(tr, c.agent);
      cell(tr, c.caller);
      cell(tr, c.callee);
      // States and who released are the protocol's words (CCC), shown as they are.
      var state = c.releasedBy
        ? interpolate(gettext("%(state)s by %(party)s"), { state: c.state, party: c.releasedBy }, true)
        : c.state;
      cell(tr, state).className = "state";
      cell(tr, interpolate(gettext("%(seconds)s s"), { seconds: c.duration }, true));
      var actions = cell(tr, "");
      if (c.state !== "released") {
        if (c.direction === "outbound" && c.state === "ringing") {
          actions.appendChild(button(c.connid, "answer", gettext("Answer")));
        }
        actions.appendChild(button(c.connid, "hangup", gettext("Hang up")));
      }
      body.appendChild(tr);
    });
  }

  function poll() {
    fetch("calls.json", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) {
          drawAgents(data.agents);
          drawCalls(data.calls);
        }
      })
      .catch(function () { /* the server may be restarting: try again on the next tick */ })
      .then(function () { window.setTimeout(poll, 1000); });
  }

  poll();
})();
