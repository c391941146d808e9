// podium web UI: the only script. Pages work without it; it only saves clicks.
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
});
