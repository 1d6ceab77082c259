// Hand-drawn SVG charts (no library): a per-minute bar + line chart and a scatter plot.
import { h, s } from "./dom.js";

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function hhmm(iso) {
  const d = new Date(iso);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

/**
 * Throughput over time: `points` = [{minute, ingested, queries}], bars for ingested, a line for
 * queries, one shared y axis. Each point has a <title> tooltip.
 */
export function throughputChart(points, { width = 1200, height = 260, testid = "throughput-chart" } = {}) {
  const m = { l: 44, r: 12, t: 12, b: 28 };
  const w = width - m.l - m.r;
  const ht = height - m.t - m.b;
  const maxV = niceMax(Math.max(1, ...points.map((p) => Math.max(p.ingested, p.queries))));
  const n = Math.max(points.length, 1);
  const step = w / n;
  const x = (i) => m.l + i * step;
  const y = (v) => m.t + ht - (v / maxV) * ht;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": "ingested memories and queries per minute, last hour",
    testid,
  });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const v = maxV * f;
    svg.append(
      s("line", { x1: m.l, x2: width - m.r, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: m.l - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, Number.isInteger(v) ? v : v.toFixed(1)),
    );
  }
  points.forEach((p, i) => {
    const bh = (p.ingested / maxV) * ht;
    svg.append(
      s(
        "rect",
        { x: x(i) + 1, y: y(p.ingested), width: Math.max(step - 2, 1), height: bh, class: "bar-ingested", "data-minute": p.minute },
        s("title", {}, `${hhmm(p.minute)} UTC — ingested ${p.ingested}, queries ${p.queries}`),
      ),
    );
    if (i % 10 === 0 || i === n - 1) {
      svg.append(s("text", { x: x(i) + step / 2, y: height - 8, class: "axis", "text-anchor": "middle" }, hhmm(p.minute)));
    }
  });
  const line = points.map((p, i) => `${i ? "L" : "M"}${(x(i) + step / 2).toFixed(1)},${y(p.queries).toFixed(1)}`).join(" ");
  if (points.length) svg.append(s("path", { d: line, class: "line-queries" }));
  points.forEach((p, i) => {
    if (p.queries > 0) {
      svg.append(
        s("circle", { cx: x(i) + step / 2, cy: y(p.queries), r: 3, class: "dot-queries" }, s("title", {}, `${hhmm(p.minute)} UTC — queries ${p.queries}`)),
      );
    }
  });
  const legend = h(
    "div",
    { class: "legend" },
    h("span", { class: "swatch ingested" }),
    "memories ingested / min",
    h("span", { class: "swatch queries" }),
    "queries / min",
  );
  return h("figure", { class: "chart-wrap" }, svg, legend);
}

/**
 * Scatter: points = [{x, y, cls, label, title, id}] in [0, 1] on both axes (scores and components are).
 */
export function scatter(points, { xLabel, yLabel, width = 620, height = 380, testid = "radar-chart" } = {}) {
  const m = { l: 48, r: 16, t: 14, b: 40 };
  const w = width - m.l - m.r;
  const ht = height - m.t - m.b;
  const maxY = Math.max(1, ...points.map((p) => p.y));
  const x = (v) => m.l + Math.max(0, Math.min(1, v)) * w;
  const y = (v) => m.t + ht - (Math.max(0, v) / maxY) * ht;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": `${yLabel} by ${xLabel}`, testid });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(
      s("line", { x1: x(f), x2: x(f), y1: m.t, y2: m.t + ht, class: "grid" }),
      s("text", { x: x(f), y: m.t + ht + 16, class: "axis", "text-anchor": "middle" }, f.toFixed(2)),
      s("line", { x1: m.l, x2: m.l + w, y1: y(f * maxY), y2: y(f * maxY), class: "grid" }),
      s("text", { x: m.l - 6, y: y(f * maxY) + 4, class: "axis", "text-anchor": "end" }, (f * maxY).toFixed(2)),
    );
  }
  svg.append(
    s("text", { x: m.l + w / 2, y: height - 6, class: "axis-title", "text-anchor": "middle" }, xLabel),
    s("text", { x: 12, y: m.t + ht / 2, class: "axis-title", "text-anchor": "middle", transform: `rotate(-90 12 ${m.t + ht / 2})` }, yLabel),
  );
  for (const p of points) {
    svg.append(
      s(
        "g",
        { class: `point ${p.cls}`, "data-memory-id": p.id, testid: "radar-point" },
        s("circle", { cx: x(p.x), cy: y(p.y), r: 7 }),
        s("text", { x: x(p.x), y: y(p.y) + 3.5, "text-anchor": "middle", class: "point-label" }, p.label),
        s("title", {}, p.title),
      ),
    );
  }
  return svg;
}

/** A horizontal bar list: rows = [{label, value}] */
export function barList(rows, testid) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h(
    "div",
    { class: "barlist", testid },
    rows.map((r) =>
      h(
        "div",
        { class: "barrow", testid: testid ? `${testid}-${r.label}` : null },
        h("span", { class: "barlabel" }, r.label),
        h("span", { class: "bartrack" }, h("span", { class: `barfill ${r.cls || ""}`, style: `width:${((r.value / max) * 100).toFixed(1)}%` })),
        h("span", { class: "barvalue" }, Number(r.value).toLocaleString("en-US")),
      ),
    ),
  );
}
