// The summary's Print button, and figures sized to the paper while printing.
(function () {
  "use strict";
  var PAPER_WIDTH = 680; // px: A4 portrait inside the print margins
  function plots() { return document.querySelectorAll(".js-plotly-plot"); }
  function fitPaper() {
    if (!window.Plotly) { return; }
    plots().forEach(function (plot) { window.Plotly.relayout(plot, { width: PAPER_WIDTH }); });
  }
  function fitScreen() {
    if (!window.Plotly) { return; }
    plots().forEach(function (plot) {
      window.Plotly.relayout(plot, { width: null, autosize: true });
    });
  }
  function start() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
  window.addEventListener("beforeprint", fitPaper);
  window.addEventListener("afterprint", fitScreen);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
