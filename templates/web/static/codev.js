// Live updates: the server says "change" over server-sent events; the page fetches the
// current view's fragment again and swaps it in. No reload, no framework.
(function () {
  "use strict";
  var view = document.getElementById("view");
  var badge = document.getElementById("live");
  if (!view || !window.EventSource) { return; }
  var busy = false, again = false;

  function show(state, text) {
    badge.dataset.state = state;
    badge.textContent = text;
  }

  function refresh() {
    if (view.dataset.live === "off") {  // an older page of the timeline stays put
      var newer = document.getElementById("newer");
      if (newer) { newer.hidden = false; }
      return;
    }
    if (busy) { again = true; return; }
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    fetch(url.toString(), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {  // a 404 has a page too: what was open is gone
        if (!r.ok && r.status !== 404) { throw new Error(r.status); }
        return r.text();
      })
      .then(function (html) {
        view.innerHTML = html;  // rendered and escaped by the server
        view.dataset.version = String((Number(view.dataset.version) || 0) + 1);
      })
      .catch(function () { show("error", "update failed"); })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var opened = false;
  var source = new EventSource("/events");
  source.addEventListener("hello", function (event) {
    // reconnected, or something changed between rendering this page and subscribing
    if (opened || event.data !== view.dataset.hub) { refresh(); }
    view.dataset.hub = event.data;
    opened = true;
    show("live", "live");
  });
  source.addEventListener("change", function (event) {
    view.dataset.hub = event.data;
    refresh();
  });
  source.onerror = function () { show("lost", "reconnecting…"); };
})();
