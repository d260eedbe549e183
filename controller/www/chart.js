// chart - a stacked bar chart of messages per step and action, drawn as
// SVG by hand (no library, no network): one bar per point, one colour per
// action (classes in moat.css), an axis with the largest count, and a
// legend. Labels are text nodes.
import {el, svg} from "./dom.js";

const W = 720, H = 240, L = 44, B = 28, T = 10;

function label(t, step) {
  const d = new Date(t * 1000);
  if (step < 86400) return String(d.getHours()).padStart(2, "0") + ":00";
  return (d.getMonth() + 1) + "/" + d.getDate();
}

export function stackedBars(series) {
  const pts = series.points || [];
  const names = series.actions || [];
  const totals = pts.map((p) => p.slice(1).reduce((a, b) => a + Number(b || 0), 0));
  const max = Math.max(1, ...totals);
  const n = Math.max(1, pts.length);
  const bw = (W - L - 4) / n;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const g = svg("g");
  g.appendChild(svg("line", {x1: L, y1: y(0), x2: W, y2: y(0), class: "axis"}));
  g.appendChild(svg("line", {x1: L, y1: T, x2: L, y2: y(0), class: "axis"}));
  g.appendChild(svg("text", {x: L - 4, y: T + 10, "text-anchor": "end", class: "tick"}, String(max)));
  g.appendChild(svg("text", {x: L - 4, y: y(0), "text-anchor": "end", class: "tick"}, "0"));
  const every = Math.ceil(n / 8);
  pts.forEach((p, i) => {
    let base = 0;
    const x = L + 2 + i * bw;
    names.forEach((a, k) => {
      const v = Number(p[k + 1] || 0);
      if (v <= 0) return;
      const r = svg("rect", {x: x, y: y(base + v), width: Math.max(1, bw - 2),
        height: Math.max(0.5, y(base) - y(base + v)), class: "a" + k});
      r.appendChild(svg("title", null, a + ": " + v));
      g.appendChild(r);
      base += v;
    });
    if (i % every === 0)
      g.appendChild(svg("text", {x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "tick"},
        label(p[0], series.step || 3600)));
  });
  const chart = svg("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": "messages per " + (series.step >= 86400 ? "day" : series.step > 3600 ? "6 hours" : "hour")}, g);
  const legend = el("ul", {class: "legend"}, names.map((a, k) =>
    el("li", null, el("span", {class: "swatch a" + k}), a)));
  return el("figure", {class: "chart-box"}, chart, legend);
}
