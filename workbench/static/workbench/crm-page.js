/*
 * Every CRM page: phone numbers become click-to-dial links, and pages shown inside the
 * console's frame drop their own top bar (the console has it), and one-off messages go away
 * by themselves.
 *
 * Numbers are rendered by the customers app as
 *   <span class="phone" data-number="+86..." data-dial="135...">as typed</span>
 * (data-number the E.164 key, data-dial what the softphone dials). A click asks the workbench
 * (window.top.crmWorkbench, same origin) to call; when the page is not inside the workbench,
 * or the softphone cannot call now, the reason is shown next to the number.
 */
(function () {
  "use strict";

  // Django's JavaScript catalogue (/jsi18n/), or the English words when it did not load.
  var gettext = typeof window.gettext === "function" ? window.gettext : function (s) { return s; };

  // One-off messages ("Saved.", "Your account is linked.") go away by themselves; errors stay
  // until closed.
  document.querySelectorAll(".messages li").forEach(function (item) {
    if (item.classList.contains("error")) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "secondary message-close";
      close.setAttribute("aria-label", gettext("Close"));
      close.textContent = "\u00d7";
      close.addEventListener("click", function () { item.remove(); });
      item.appendChild(close);
      return;
    }
    window.setTimeout(function () {
      item.classList.add("leaving");
      window.setTimeout(function () {
        var list = item.parentNode;
        item.remove();
        if (list && !list.children.length) list.remove();
      }, 500);
    }, 6000);
  });

  function workbench() {
    try {
      return window.top !== window.self && window.top.crmWorkbench ? window.top.crmWorkbench : null;
    } catch (e) {
      return null;  // framed by another origin
    }
  }

  // Inside the workbench's CRM frame (decided by the frame, not by crmWorkbench, which the
  // workbench may define only after this page has loaded).
  var inWorkbench = false;
  try {
    inWorkbench = !!window.frameElement && window.frameElement.id === "crm-frame";
  } catch (e) { /* framed by another origin */ }
  if (inWorkbench) {
    var bar = document.querySelector(".topbar");
    if (bar) bar.style.display = "none";
    document.documentElement.classList.add("in-workbench");
  }

  function say(link, text, href) {
    var old = link.parentNode.querySelector(".dial-reason");
    if (old) old.remove();
    var box = document.createElement("span");
    box.className = "dial-reason";
    box.setAttribute("role", "alert");
    box.textContent = " " + text;
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.target = "_top";
      a.textContent = " " + gettext("Open the console");
      box.appendChild(a);
    }
    link.after(box);
    window.setTimeout(function () { box.remove(); }, 8000);
  }

  // Phone numbers under `root` become click-to-dial links (also for parts the console swaps in).
  function linkPhones(root) {
    root.querySelectorAll("span.phone[data-number]").forEach(linkPhone);
  }
  window.crmLinkPhones = linkPhones;

  function linkPhone(span) {
    if (!span.dataset.number) return;
    var link = document.createElement("a");
    Array.prototype.forEach.call(span.attributes, function (attr) {
      link.setAttribute(attr.name, attr.value);
    });
    link.href = "tel:" + span.dataset.number;
    link.title = gettext("Call") + " " + span.textContent.trim();
    link.textContent = span.textContent;
    span.replaceWith(link);
  }
  linkPhones(document);

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.phone[data-number]");
    if (!link) return;
    event.preventDefault();
    var number = link.dataset.dial || link.dataset.number;
    var wb = workbench();
    if (!wb) {
      var brand = document.querySelector(".topbar .brand");
      var home = (brand && brand.getAttribute("href")) || "/";
      say(link, gettext("Calls are made from the console's call bar."),
        home + "?page=" + encodeURIComponent(window.location.pathname + window.location.search));
      return;
    }
    var result = wb.dial(number, link.textContent.trim());
    if (!result.ok && result.reason) say(link, result.reason);  // no reason: click ignored
  });
})();
