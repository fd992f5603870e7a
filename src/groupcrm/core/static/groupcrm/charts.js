// Render every <div class="chart" data-chart="bar|line" data-source="id"> with ECharts,
// reading its data from the json_script element of that id (no inline scripts: CSP).
document.querySelectorAll(".chart[data-source]").forEach((el) => {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const kind = el.dataset.chart;
  const labels = rows.map((r) => r.name ?? r.day);
  const values = rows.map((r) => r.value ?? r.count);
  const chart = window.echarts.init(el);
  chart.setOption({
    grid: { left: 40, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: labels, axisLabel: { interval: kind === "line" ? 1 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: kind, data: values, smooth: kind === "line", areaStyle: kind === "line" ? {} : undefined }],
  });
  window.addEventListener("resize", () => chart.resize());
});
