// ECharts (vendored, /static/vendor/echarts.min.js, loaded as a classic script: window.echarts)
// in the ISA-101 look: greys, no decoration, the locale's numbers. Each chart answers a tap on a
// bar with onPick(name) so the page can open the orders behind it.
import { language } from "./i18n.js";
import * as fmt from "./format.js";

const INK = "#1f2326";
const BAR = "#7d8389";
const GRID = "#c4c7ca";
const LINES = ["#1f2326", "#6b7177", "#a0a5aa", "#4a5056", "#8d9399"];
const live = new Map();

function chartOn(el) {
  const old = live.get(el.id);
  if (old) old.dispose();
  const locale = language() === "zh-CN" ? "ZH" : "EN";
  const chart = window.echarts.init(el, null, { locale, renderer: "canvas" });
  live.set(el.id, chart);
  return chart;
}

window.addEventListener("resize", () => { for (const c of live.values()) c.resize(); });

const base = (extra) => ({
  animation: false,
  textStyle: { fontFamily: getComputedStyle(document.body).fontFamily, color: INK, fontSize: 13 },
  tooltip: { show: false },
  ...extra,
});

function empty(el, text) {
  const old = live.get(el.id);
  if (old) { old.dispose(); live.delete(el.id); }
  el.classList.add("empty");
  el.textContent = text;
}

// Horizontal bars, largest on top (WIP by operation).
export function bars(el, items, { label, value, onPick, emptyText }) {
  if (!items.length) { empty(el, emptyText); return; }
  el.classList.remove("empty");
  el.textContent = "";
  el.style.height = `${Math.max(160, items.length * 36 + 40)}px`;
  const rows = [...items].reverse();
  const chart = chartOn(el);
  chart.setOption(base({
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", splitLine: { lineStyle: { color: GRID } },
             axisLabel: { formatter: (v) => fmt.number(v) } },
    yAxis: { type: "category", data: rows.map(label), axisLabel: { width: 120, overflow: "truncate" } },
    series: [{ type: "bar", data: rows.map(value), itemStyle: { color: BAR },
               label: { show: true, position: "right", formatter: (p) => fmt.number(p.value) } }],
  }));
  chart.on("click", (p) => onPick(rows[p.dataIndex]));
}

// A Pareto: bars by quantity, largest first, with the cumulative share as a line (0-100 %).
export function pareto(el, items, { onPick, emptyText }) {
  if (!items.length) { empty(el, emptyText); return; }
  el.classList.remove("empty");
  el.textContent = "";
  const chart = chartOn(el);
  chart.setOption(base({
    grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: items.map((i) => i.name || i.key),
             axisLabel: { interval: 0, rotate: items.length > 4 ? 30 : 0, width: 90, overflow: "truncate" } },
    yAxis: [
      { type: "value", splitLine: { lineStyle: { color: GRID } }, axisLabel: { formatter: (v) => fmt.number(v) } },
      { type: "value", min: 0, max: 1, splitLine: { show: false },
        axisLabel: { formatter: (v) => fmt.percent(v, 0) } },
    ],
    series: [
      { type: "bar", data: items.map((i) => i.quantity), itemStyle: { color: BAR },
        label: { show: true, position: "top", formatter: (p) => fmt.number(p.value) } },
      { type: "line", yAxisIndex: 1, data: items.map((i) => i.cumulative), symbolSize: 6,
        lineStyle: { color: INK, width: 2 }, itemStyle: { color: INK } },
    ],
  }));
  chart.on("click", (p) => onPick(items[p.dataIndex]));
}

// OEE per line and day (0-100 %), one line each.
export function trend(el, rows, { emptyText }) {
  if (!rows.length) { empty(el, emptyText); return; }
  el.classList.remove("empty");
  el.textContent = "";
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const lines = [...new Set(rows.map((r) => r.line))].sort();
  // a line's name in the page's language (the API's `name`), else its area/line
  const nameOf = (line) => rows.find((r) => r.line === line).name || line;
  const chart = chartOn(el);
  chart.setOption(base({
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: days, axisLabel: { formatter: (d) => fmt.day(`${d}T12:00:00`) } },
    yAxis: { type: "value", min: 0, max: 1, splitLine: { lineStyle: { color: GRID } },
             axisLabel: { formatter: (v) => fmt.percent(v, 0) } },
    series: lines.map((line, i) => ({
      type: "line", name: nameOf(line), symbolSize: 6, lineStyle: { color: LINES[i % LINES.length], width: 2,
                                                            type: i % 2 ? "dashed" : "solid" },
      itemStyle: { color: LINES[i % LINES.length] },
      data: days.map((d) => { const r = rows.find((x) => x.line === line && x.day === d); return r ? r.oee : null; }),
    })),
  }));
}
