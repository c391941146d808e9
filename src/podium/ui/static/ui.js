// podium web UI: the only script. Pages work without it; it saves clicks and keeps
// live panels current.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  // The column chooser applies a change at once instead of waiting for "Apply".
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function () { form.requestSubmit(); });
  });
  // Keep the column chooser open after it reloaded the page.
  if (new URLSearchParams(window.location.search).has("cols")) {
    var chooser = document.querySelector("details.columns");
    if (chooser) { chooser.open = true; }
  }
  // Live panels (a deployment's traffic) fetch their fragment again every few seconds.
  document.querySelectorAll("[data-refresh-url]").forEach(function (panel) {
    var seconds = Number(panel.getAttribute("data-refresh-seconds")) || 5;
    var busy = false;
    var timer = window.setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(panel.getAttribute("data-refresh-url"), { credentials: "same-origin" })
        .then(function (answer) {
          if (!answer.ok) { throw new Error("HTTP " + answer.status); }
          return answer.text();
        })
        .then(function (html) { panel.innerHTML = html; panel.removeAttribute("data-stale"); })
        .catch(function () {  // logged out or server gone: stop, and say it is stale
          window.clearInterval(timer);
          panel.setAttribute("data-stale", "true");
        })
        .finally(function () { busy = false; });
    }, seconds * 1000);
  });
});
