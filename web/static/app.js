// Gongji pages: small enhancements only. Every page works without this file.
(function () {
  "use strict";
  // Print buttons exist only where printing can work.
  document.querySelectorAll(".js-print").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  document.addEventListener("submit", function (e) {
    var btn = e.submitter;
    if (!btn) { return; }
    // Ask before an action that cannot be undone by a click (cancelling a settlement).
    var question = btn.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
      return;
    }
    // One click is one request; the server is idempotent anyway (the form carries its msgid).
    if (btn.hasAttribute("data-once")) {
      setTimeout(function () { btn.disabled = true; }, 0);
    }
  });
})();
