// Draws the explorer's series (volume against baseline, sentiment) from the JSON data block the
// page carries; no inline script, so the Content-Security-Policy stays strict.
(function () {
  const data = document.getElementById("series-data");
  const canvas = document.getElementById("series-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const points = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => p.window_end),
      datasets: [
        { label: "Publicaciones", data: points.map((p) => p.count), borderColor: "#c0392b", yAxisID: "y" },
        { label: "Lo habitual", data: points.map((p) => p.baseline), borderColor: "#7f8c8d", borderDash: [4, 4], yAxisID: "y" },
        { label: "Sentimiento", data: points.map((p) => p.sentiment), borderColor: "#2471a3", yAxisID: "s" },
      ],
    },
    options: {
      animation: false,
      scales: {
        y: { beginAtZero: true, title: { display: true, text: "publicaciones" } },
        s: { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "sentimiento" } },
      },
    },
  });
})();
