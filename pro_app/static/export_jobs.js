// The audit page's background exports: while one is waiting or running, refresh the list
// every few seconds so its progress and download link appear without reloading the page.
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function refresh() {
    var list = document.getElementById("export-jobs");
    if (!list || list.dataset.active !== "1") return;
    fetch(list.dataset.source, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#export-jobs");
        if (fresh) list.replaceWith(fresh);
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    window.setTimeout(refresh, EVERY_MS);
  }

  document.addEventListener("DOMContentLoaded", schedule);
})();
