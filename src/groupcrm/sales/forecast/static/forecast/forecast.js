// The forecast dashboard's chart: quota, won and forecast (won + commit) per month of
// the year, from the json_script element "forecast-chart" (no inline scripts: CSP).
(() => {
  const el = document.getElementById("forecast-chart");
  const source = document.getElementById("forecast-chart-data");
  if (!el || !source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const months = data.months.map((m) => m.month);
  const series = (key, type, extra) => ({
    name: data.labels[key],
    type,
    data: data.months.map((m) => Number(m[key])),
    ...extra,
  });
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    grid: { left: 72, right: 16, top: 36, bottom: 32 },
    legend: { top: 0 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: months },
    yAxis: { type: "value" },
    series: [
      series("quota", "line", { lineStyle: { type: "dashed" } }),
      series("won", "bar", {}),
      series("forecast", "bar", {}),
    ],
  });
  el.dataset.rendered = "1";
  window.addEventListener("resize", () => chart.resize());
})();
