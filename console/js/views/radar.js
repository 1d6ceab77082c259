// Semantic Radar: POST /v1/query with include_filtered; kept results plotted by a score component
// (x) against the final score (y), colored by layer; filtered candidates (ids + reasons only) listed.
import { api } from "../api.js";
import { scatter } from "../charts.js";
import { clear, fmtNum, h, shortId } from "../dom.js";
import { errorBox, layerClass, needNamespace, pill, state } from "../ui.js";

const REASONS = {
  below_threshold: "score below the policy's min_score",
  below_min_score: "score below the policy's min_score",
  not_in_top_k: "ranked below top_k",
  over_budget: "did not fit the token budget",
  duplicate: "duplicate of a kept memory",
  expired: "expired",
  superseded: "superseded by a newer fact",
};

let last = null; // {request, response, xAxis}: kept across visits of the view

function explainKept(r, i) {
  const parts = Object.entries(r.components)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmtNum(v, 2)}`);
  return `kept: rank ${i + 1}, score ${fmtNum(r.score)} (${parts.join(", ") || "no signal"})`;
}

function drawResult(out, req, resp, xAxis) {
  const points = resp.results.map((r, i) => ({
    x: r.components[xAxis] ?? 0,
    y: r.score,
    cls: layerClass(r.layer),
    label: String(i + 1),
    id: r.memory_id,
    title: `#${i + 1} ${r.layer} ${r.session_id}/${r.role}: ${r.text}\n${explainKept(r, i)}`,
  }));
  const byLayer = resp.results.reduce((acc, r) => ((acc[r.layer] = (acc[r.layer] || 0) + 1), acc), {});
  const reasons = resp.filtered.reduce((acc, f) => ((acc[f.reason] = (acc[f.reason] || 0) + 1), acc), {});
  clear(out).append(
    h(
      "div",
      { class: "muted small", testid: "radar-summary" },
      `${resp.results.length} kept (${Object.entries(byLayer).map(([l, n]) => `${l}: ${n}`).join(", ") || "none"}) · ` +
        `${resp.filtered.length} filtered (${Object.entries(reasons).map(([r, n]) => `${r}: ${n}`).join(", ") || "none"}) · ` +
        `${fmtNum(resp.timings_ms.total, 1)} ms`,
    ),
    h(
      "div",
      { class: "radar-grid" },
      h(
        "div",
        { class: "card" },
        scatter(points, { xLabel: `${xAxis} component (normalized 0–1)`, yLabel: "final score" }),
        h(
          "div",
          { class: "legend" },
          ["L1", "L2", "L3"].map((l) => [h("span", { class: `swatch ${layerClass(l)}` }), `${l} `]),
          h("span", { class: "muted small" }, " · hover a point for its text and why it was kept"),
        ),
      ),
      h(
        "div",
        { class: "card radar-kept" },
        h("h2", {}, "Kept"),
        resp.results.length
          ? h(
              "ol",
              { testid: "radar-kept" },
              resp.results.map((r, i) =>
                h(
                  "li",
                  { testid: "radar-kept-item", "data-memory-id": r.memory_id },
                  pill(r.layer, layerClass(r.layer)),
                  h("span", { class: "mono small" }, ` ${fmtNum(r.score)} `),
                  h("span", {}, r.text),
                  h("div", { class: "muted small" }, explainKept(r, i)),
                ),
              ),
            )
          : h("p", { class: "muted" }, "nothing kept"),
      ),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", {}, `Filtered (${resp.filtered.length})`),
      h("p", { class: "muted small" }, "The API gives filtered candidates as an id and a reason (no scores), so they are listed, not plotted."),
      resp.filtered.length
        ? h(
            "table",
            { class: "table", testid: "radar-filtered" },
            h("thead", {}, h("tr", {}, ["memory", "reason", "text (when listed in this namespace's recent memories)"].map((c) => h("th", {}, c)))),
            h(
              "tbody",
              {},
              resp.filtered.map((f) => {
                const m = state.memoriesById.get(f.memory_id);
                return h(
                  "tr",
                  { testid: "radar-filtered-item", "data-memory-id": f.memory_id },
                  h("td", { class: "mono small", title: f.memory_id }, shortId(f.memory_id)),
                  h("td", {}, pill(f.reason, "warn"), h("span", { class: "muted small" }, ` ${REASONS[f.reason] || ""}`)),
                  h("td", {}, m ? `${m.session_id}/${m.role}: ${m.text}` : h("span", { class: "muted" }, "—")),
                );
              }),
            ),
          )
        : h("p", { class: "muted" }, "no candidate was filtered"),
    ),
  );
}

export async function render(root) {
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Semantic radar"), h("span", { class: "muted" }, state.namespace || "")));
  if (!state.namespace) {
    root.append(needNamespace("query it"));
    return null;
  }
  const query = h("input", { type: "text", name: "query", required: true, placeholder: "what should the agent remember about…", testid: "radar-query", value: last?.request.query || "" });
  const topK = h("input", { type: "number", name: "top_k", min: 1, max: 100, value: last?.request.top_k || 8, testid: "radar-topk" });
  const xAxis = h(
    "select",
    { name: "x", testid: "radar-x" },
    ["vector", "lexical", "recency", "importance", "entity"].map((c) => h("option", { value: c }, c)),
  );
  xAxis.value = last?.xAxis || "vector";
  const out = h("div", { testid: "radar-out" });
  const errBox = h("div");
  const form = h(
    "form",
    { class: "card form-row", testid: "radar-form" },
    h("label", { class: "grow" }, "Query", query),
    h("label", {}, "top_k", topK),
    h("label", {}, "x axis", xAxis),
    h("button", { type: "submit", testid: "radar-run" }, "Plot"),
    h("span", { class: "muted small" }, state.session ? `session ${state.session} boosts its memories` : "whole namespace"),
  );
  const run = async () => {
    clear(errBox);
    const request = {
      namespace: state.namespace,
      query: query.value,
      top_k: Number(topK.value),
      include_filtered: true,
      ...(state.session ? { session_id: state.session } : {}),
    };
    try {
      const response = await api.post("/v1/query", request);
      last = { request, response, xAxis: xAxis.value, namespace: state.namespace };
      drawResult(out, request, response, xAxis.value);
    } catch (err) {
      clear(out);
      errBox.append(errorBox(err));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run();
  });
  xAxis.addEventListener("change", () => {
    if (last) {
      last.xAxis = xAxis.value;
      drawResult(out, last.request, last.response, xAxis.value);
    }
  });
  root.append(form, errBox, out);
  if (last && last.namespace === state.namespace) drawResult(out, last.request, last.response, last.xAxis);
  return null;
}
