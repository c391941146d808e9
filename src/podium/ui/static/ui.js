// podium web UI: the only script. Pages work without it; it saves clicks and keeps
// live panels current.
"use strict";
document.documentElement.classList.add("js");

// Forms marked data-swap (the runs filter) fetch their page and swap its <main> in,
// instead of a full navigation: one request, no reload of the page around it. The
// address bar follows (history.pushState); back and forward reload that address. A
// redirect (a session that ended) or an answer that is not HTML navigates as usual.
var swapped = false;

function swapMain(url) {
  fetch(url, { credentials: "same-origin" })
    .then(function (answer) {
      var type = answer.headers.get("content-type") || "";
      if (answer.redirected || type.indexOf("text/html") !== 0) {
        window.location.assign(url);
        return null;
      }
      return answer.text();
    })
    .then(function (html) {
      if (html === null) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var next = fresh.querySelector("main");
      var main = document.querySelector("main");
      if (!next || !main) { window.location.assign(url); return; }
      main.replaceWith(document.adoptNode(next));
      document.title = fresh.title;
      window.history.pushState({ swapped: true }, "", url);
      swapped = true;
      bind(next);
    })
    .catch(function () { window.location.assign(url); });
}

function bind(root) {
  // The column chooser applies a change at once instead of waiting for "Apply".
  root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function () { form.requestSubmit(); });
  });
  root.querySelectorAll("form[data-swap]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var query = new URLSearchParams(new FormData(form)).toString();
      event.preventDefault();
      swapMain(form.getAttribute("action") + "?" + query);
    });
  });
}

// Back or forward across a swap: show that address's page (a fragment link, which also
// fires popstate, reloads nothing unless this page swapped).
window.addEventListener("popstate", function () {
  if (swapped) { window.location.reload(); }
});

document.addEventListener("DOMContentLoaded", function () {
  bind(document);
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
