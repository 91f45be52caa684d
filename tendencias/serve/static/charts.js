// Draws every chart of the page from the Chart.js configuration the server put in a JSON data
// block beside its canvas (<script type="application/json" id="CANVAS-ID-data">). No inline
// script: the Content-Security-Policy stays strict. Labels are drawn on the canvas, not as HTML.
(function () {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const block = document.getElementById(canvas.id + "-data");
    if (!block) return;
    new Chart(canvas, JSON.parse(block.textContent));
  });
})();
