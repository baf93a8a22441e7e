// Gongji pages: small enhancements only. Every page works without this file.
(function () {
  "use strict";
  // Print buttons exist only where printing can work.
  document.querySelectorAll(".js-print").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  // Institutions near me: the browser's position fills the coordinates (the form works
  // without it, from a city centre or typed coordinates).
  var locate = document.querySelector(".js-locate");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      var form = locate.form;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var put = function (name, value) {
          var input = form.querySelector("[name=" + name + "]");
          if (!input) {
            input = document.createElement("input");
            input.type = "hidden";
            input.name = name;
            form.appendChild(input);
          }
          input.value = value;
        };
        put("lat", pos.coords.latitude.toFixed(6));
        put("lon", pos.coords.longitude.toFixed(6));
        // The server picks the city the position is in.
        var city = form.querySelector("[name=city]");
        if (city) { city.name = ""; }
        form.submit();
      }, function () {
        var status = document.querySelector("[data-testid=near-summary]");
        if (status) { status.textContent = locate.getAttribute("data-error"); }
      }, { timeout: 10000, maximumAge: 60000 });
    });
  }
  // A sent code's time left, counted down (the page shows the time it is valid until).
  document.querySelectorAll(".js-countdown").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-secs"), 10);
    if (!(left > 0)) { return; }
    var end = Date.now() + left * 1000;
    el.hidden = false;
    var tick = function () {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      var mmss = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      el.textContent = s > 0 ? el.getAttribute("data-label").replace("{0}", mmss) : el.getAttribute("data-done");
      if (s > 0) { setTimeout(tick, 1000); }
    };
    tick();
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
