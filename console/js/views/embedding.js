// Embedding map: GET /v1/ops/embedding_map projects a namespace's memories to 2-D by meaning
// (PCA of a sample, server-side); duplicates and superseded facts are drawn with a line to what
// they point to. POST /v1/ops/embedding_map/query places a query among them with its kept and
// filtered candidates. Every point is also listed in a table (the keyboard and screen-reader view).
import { api } from "../api.js";
import { clear, fmtInt, fmtNum, fmtPct, fmtTime, h, s, shortId, stat } from "../dom.js";
import { errorBox, needNamespace, pill, state } from "../ui.js";

const MAX_POINTS = 2000; // pages of 500 fetched for one picture
const W = 760;
const H = 520;
const M = 28;

const sx = (x) => M + ((x + 1) / 2) * (W - 2 * M);
const sy = (y) => H - M - ((y + 1) / 2) * (H - 2 * M);

function pointClass(p) {
  return p.status === "active" ? `layer-${p.layer.toLowerCase()}` : `status-${p.status}`;
}

function plot(points, overlay) {
  const byId = new Map(points.map((p) => [p.memory_id, p]));
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart embedding-map",
    role: "img",
    "aria-label": `${points.length} memories by meaning (first two principal components)`,
    testid: "map-chart",
  });
  svg.append(
    s("line", { x1: sx(-1), x2: sx(1), y1: sy(0), y2: sy(0), class: "grid" }),
    s("line", { x1: sx(0), x2: sx(0), y1: sy(-1), y2: sy(1), class: "grid" }),
    s("text", { x: W - M, y: sy(0) - 6, class: "axis", "text-anchor": "end" }, "PC1"),
    s("text", { x: sx(0) + 6, y: M - 8, class: "axis" }, "PC2"),
  );
  for (const p of points) {
    const target = byId.get(p.duplicate_of || p.superseded_by);
    if (target) {
      svg.append(
        s("line", {
          x1: sx(p.x), y1: sy(p.y), x2: sx(target.x), y2: sy(target.y),
          class: `link ${p.duplicate_of ? "link-duplicate" : "link-superseded"}`,
          testid: "map-link",
          "data-from": p.memory_id,
          "data-to": target.memory_id,
        }),
      );
    }
  }
  if (overlay) {
    for (const k of overlay.kept) svg.append(s("line", { x1: sx(overlay.x), y1: sy(overlay.y), x2: sx(k.x), y2: sy(k.y), class: "link link-kept" }));
  }
  for (const p of points) {
    svg.append(
      s(
        "g",
        { class: `point ${pointClass(p)}`, testid: "map-point", "data-memory-id": p.memory_id, "data-status": p.status, "data-layer": p.layer },
        s("circle", { cx: sx(p.x), cy: sy(p.y), r: 6 }),
        s("title", {}, `${p.status} ${p.layer} ${p.kind} · ${p.session_id}/${p.role}: ${p.text}`),
      ),
    );
  }
  if (overlay) {
    for (const f of overlay.filtered) {
      svg.append(s("circle", { cx: sx(f.x), cy: sy(f.y), r: 10, class: "ring ring-filtered", testid: "map-filtered", "data-memory-id": f.memory_id }, s("title", {}, `filtered: ${f.reason}`)));
    }
    for (const k of overlay.kept) {
      svg.append(
        s(
          "g",
          { class: "ring-kept", testid: "map-kept", "data-memory-id": k.memory_id },
          s("circle", { cx: sx(k.x), cy: sy(k.y), r: 10, class: "ring" }),
          s("text", { x: sx(k.x) + 12, y: sy(k.y) + 4, class: "rank" }, String(k.rank)),
          s("title", {}, `kept #${k.rank}, score ${fmtNum(k.score)}`),
        ),
      );
    }
    svg.append(
      s(
        "g",
        { class: "query-mark", testid: "map-query" },
        s("rect", { x: sx(overlay.x) - 7, y: sy(overlay.y) - 7, width: 14, height: 14, transform: `rotate(45 ${sx(overlay.x)} ${sy(overlay.y)})` }),
        s("title", {}, `query: ${overlay.query}`),
      ),
    );
  }
  return svg;
}

function table(points) {
  return h(
    "details",
    { class: "card", testid: "map-table-wrap" },
    h("summary", {}, `All ${points.length} points as a table`),
    h(
      "table",
      { class: "table", testid: "map-table" },
      h("thead", {}, h("tr", {}, ["memory", "x", "y", "layer", "kind", "status", "points to", "text"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        points.map((p) =>
          h(
            "tr",
            { testid: "map-row", "data-memory-id": p.memory_id },
            h("td", { class: "mono small", title: p.memory_id }, shortId(p.memory_id)),
            h("td", { class: "mono" }, fmtNum(p.x, 2)),
            h("td", { class: "mono" }, fmtNum(p.y, 2)),
            h("td", {}, p.layer),
            h("td", {}, p.kind),
            h("td", {}, p.status),
            h("td", { class: "mono small" }, p.duplicate_of ? `duplicate of ${shortId(p.duplicate_of)}` : p.superseded_by ? `superseded by ${shortId(p.superseded_by)}` : ""),
            h("td", {}, p.text),
          ),
        ),
      ),
    ),
  );
}

function overlayLists(overlay, byId) {
  const text = (id) => byId.get(id)?.text || "";
  return h(
    "div",
    { testid: "map-overlay" },
    h(
      "section",
      { class: "card" },
      h("h2", {}, `Kept (${overlay.kept.length})`),
      h("ol", { testid: "map-kept-list" }, overlay.kept.map((k) => h("li", { testid: "map-kept-item", "data-memory-id": k.memory_id }, pill(k.layer, `layer-${String(k.layer).toLowerCase()}`), h("span", { class: "mono small" }, ` ${fmtNum(k.score)} `), text(k.memory_id)))),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, `Filtered (${overlay.filtered.length})`),
      h("ul", { testid: "map-filtered-list" }, overlay.filtered.map((f) => h("li", { testid: "map-filtered-item", "data-memory-id": f.memory_id }, pill(f.reason, "warn"), " ", text(f.memory_id)))),
      overlay.forgotten_filtered ? h("p", { class: "muted small", testid: "map-forgotten-filtered" }, `${overlay.forgotten_filtered} expired candidate(s): counted, not shown`) : null,
    ),
  );
}

async function loadPoints(params) {
  const points = [];
  let page = null;
  let cursor = null;
  do {
    page = await api.get("/v1/ops/embedding_map", { ...params, cursor, limit: 500 });
    points.push(...page.points);
    cursor = page.next_cursor;
  } while (cursor && points.length < MAX_POINTS);
  return { first: page, points, more: Boolean(cursor) };
}

export async function render(root) {
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Embedding map"), h("span", { class: "muted" }, state.namespace || "")));
  if (!state.namespace) {
    root.append(needNamespace("map its memories"));
    return null;
  }
  const params = { namespace: state.namespace, session_id: state.session || undefined };
  const { first, points, more } = await loadPoints(params);
  const byId = new Map(points.map((p) => [p.memory_id, p]));
  const proj = first.projection;
  const chartBox = h("div", { class: "card" }, plot(points, null));
  const overlayOut = h("div", {}, h("section", { class: "card muted small" }, "Plot a query to place it among the memories, with the candidates it keeps (numbered rings) and filters (dashed rings)."));
  const errBox = h("div");
  const query = h("input", { type: "text", name: "query", required: true, maxlength: 2000, placeholder: "plot a query among the memories", testid: "map-query-input" });
  const topK = h("input", { type: "number", name: "top_k", min: 1, max: 100, value: 8, testid: "map-topk" });
  const form = h(
    "form",
    { class: "card form-row", testid: "map-form" },
    h("label", { class: "grow" }, "Query", query),
    h("label", {}, "top_k", topK),
    h("button", { type: "submit", testid: "map-run" }, "Plot query"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(errBox);
    try {
      const overlay = await api.post("/v1/ops/embedding_map/query", { namespace: state.namespace, query: query.value, top_k: Number(topK.value) || 8, ...(state.session ? { session_id: state.session } : {}) });
      clear(chartBox).append(plot(points, overlay), legend());
      clear(overlayOut).append(overlayLists(overlay, byId));
    } catch (err) {
      errBox.append(errorBox(err));
    }
  });
  const legend = () =>
    h(
      "div",
      { class: "legend" },
      h("span", { class: "swatch layer-l1" }), " active, in L1 window ",
      h("span", { class: "swatch layer-l2" }), " active (L2) ",
      h("span", { class: "swatch status-duplicate" }), " duplicate → original ",
      h("span", { class: "swatch status-superseded" }), " superseded → newer fact ",
      h("span", { class: "muted small" }, " · ◆ query, rings: kept (numbered) and filtered (dashed)"),
    );
  chartBox.append(legend());
  root.append(
    h(
      "p",
      { class: "muted small", testid: "map-projection" },
      `PCA fitted on ${fmtInt(proj.sample_size)} of ${fmtInt(proj.mappable)} memories (${proj.dims}-d vectors) · variance on the axes ${fmtPct(proj.explained_variance[0])} + ${fmtPct(proj.explained_variance[1])} · ${proj.cached ? "cached" : "fitted"} ${fmtTime(proj.computed_at)}` +
        (more ? ` · showing the first ${fmtInt(points.length)} points` : ""),
    ),
    h(
      "div",
      { class: "stats-row" },
      stat("Points", fmtInt(points.length), "map-points"),
      stat("Active", fmtInt(first.by_status.active), "map-active"),
      stat("Duplicates", fmtInt(first.by_status.duplicate), "map-duplicates"),
      stat("Superseded", fmtInt(first.by_status.superseded), "map-superseded"),
      stat("Expired / deleted (count only)", `${fmtInt(first.forgotten.expired)} / ${fmtInt(first.forgotten.deleted)}`, "map-forgotten"),
    ),
    form,
    errBox,
    h("div", { class: "map-grid" }, chartBox, overlayOut),
    table(points),
  );
  root.dataset.state = "ready";
  return null;
}
