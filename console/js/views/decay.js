// Decay heatmap: GET /v1/ops/decay lays a namespace's (or session's) live memories out by age
// (columns) and current importance (rows), each cell colored by how soon its nearest memory is
// forgotten (decay below the policy's floor, or its TTL). Selecting a cell lists its memories and
// why each decays (GET /v1/ops/decay/memories). Forgotten memories are counts only.
import { api } from "../api.js";
import { clear, fmtInt, fmtNum, fmtTime, h, stat } from "../dom.js";
import { errorBox, needNamespace, pill, state } from "../ui.js";

const STATES = {
  near: "forgotten within 7 days",
  fading: "forgotten within 30 days",
  safe: "forgotten later",
  kept: "never forgotten (does not decay, no TTL)",
};

function days(d) {
  if (d === null || d === undefined) return "never";
  return d < 1 ? `${fmtNum(d * 24, 1)} h` : `${fmtNum(d, 1)} d`;
}

function policyLine(p) {
  const ttl = Object.entries(p.ttl_days)
    .map(([k, v]) => `${k} ${v ? `${v} d` : "none"}`)
    .join(", ");
  return `half-life ${p.half_life_days} d · forgotten below importance ${p.min_importance} · decays: ${p.decay_kinds.join(", ") || "none"} · TTL (from ${p.ttl_from}): ${ttl}`;
}

function grid(map, onPick) {
  const byKey = new Map(map.cells.map((c) => [`${c.age_bucket}:${c.importance_bucket}`, c]));
  const floorRow = Math.min(map.importance_buckets.length - 1, Math.floor(map.policy.min_importance * 10));
  const rows = [...map.importance_buckets].reverse();
  return h(
    "table",
    { class: "heatmap", testid: "decay-grid", "aria-label": "memories by age (columns) and current importance (rows)" },
    h("caption", { class: "muted small" }, "Columns: age since ", map.policy.ttl_from, ". Rows: importance now. Select a cell to list its memories."),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "importance \\ age"), map.age_buckets.map((b) => h("th", { scope: "col" }, b.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          { class: r.index === floorRow ? "floor-row" : null },
          h("th", { scope: "row" }, r.label, r.index === floorRow ? h("span", { class: "muted small" }, ` ← floor ${map.policy.min_importance}`) : null),
          map.age_buckets.map((a) => {
            const c = byKey.get(`${a.index}:${r.index}`);
            if (!c) return h("td", { class: "empty" });
            const label = `${c.count} memor${c.count === 1 ? "y" : "ies"}, age ${a.label}, importance ${r.label}, soonest forgotten in ${days(c.soonest_forget_days)} (${STATES[c.state]})`;
            return h(
              "td",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: `cell state-${c.state}`,
                  testid: "decay-cell",
                  "data-age": a.index,
                  "data-importance": r.index,
                  "data-count": c.count,
                  "data-state": c.state,
                  "aria-label": label,
                  title: label,
                  onclick: () => onPick(a, r, c),
                },
                String(c.count),
              ),
            );
          }),
        ),
      ),
    ),
  );
}

function memoryList(out, params, age, row) {
  const heading = h("h2", { tabindex: "-1", testid: "decay-cell-heading" }, `Age ${age.label}, importance ${row.label}`);
  const tbody = h("tbody", { testid: "decay-memories" });
  const more = h("button", { type: "button", testid: "decay-more", hidden: true }, "Load more");
  const errBox = h("div");
  let cursor = null;
  const load = async () => {
    clear(errBox);
    try {
      const page = await api.get("/v1/ops/decay/memories", { ...params, cursor, limit: 25 });
      for (const m of page.memories) {
        tbody.append(
          h(
            "tr",
            { testid: "decay-memory", "data-memory-id": m.memory_id },
            h("td", {}, h("div", {}, m.text), h("div", { class: "muted small" }, `${m.session_id} · ${m.role} · ${m.kind} · occurred ${fmtTime(m.occurred_at)}`)),
            h("td", { class: "mono", testid: "decay-importance" }, fmtNum(m.importance, 3), h("div", { class: "muted small" }, `base ${fmtNum(m.base_importance, 2)}`)),
            h("td", { testid: "decay-forget" }, m.forget_by ? pill(`${days(m.forget_in_days)} · ${m.forget_by}`, m.forget_in_days <= 7 ? "bad" : "warn") : pill("kept", "ok")),
            h("td", { class: "small", testid: "decay-why" }, m.why),
          ),
        );
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      errBox.append(errorBox(err));
    }
  };
  more.addEventListener("click", load);
  clear(out).append(
    h(
      "section",
      { class: "card", testid: "decay-cell-list" },
      heading,
      h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["memory", "importance now", "forgotten in", "why"].map((c) => h("th", { scope: "col" }, c)))), tbody),
      more,
      errBox,
    ),
  );
  heading.focus();
  return load();
}

export async function render(root) {
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Decay heatmap"), h("span", { class: "muted" }, state.namespace || "")));
  if (!state.namespace) {
    root.append(needNamespace("see how its memories decay"));
    return null;
  }
  const params = { namespace: state.namespace, session_id: state.session || undefined };
  const map = await api.get("/v1/ops/decay", params);
  const list = h("div", { testid: "decay-list-out" });
  const legend = h(
    "div",
    { class: "legend", testid: "decay-legend" },
    Object.entries(STATES).map(([k, v]) => [h("span", { class: `swatch state-${k}` }), ` ${v} `]),
  );
  root.append(
    h("p", { class: "muted small", testid: "decay-policy" }, policyLine(map.policy), state.session ? ` · session ${state.session}` : ""),
    h(
      "div",
      { class: "stats-row" },
      stat("Live memories", fmtInt(map.live), "decay-live"),
      stat("Laid out", fmtInt(map.scanned) + (map.truncated ? " (newest)" : ""), "decay-scanned"),
      stat("Expired (count only)", fmtInt(map.forgotten.expired), "decay-expired"),
      stat("Deleted (count only)", fmtInt(map.forgotten.deleted), "decay-deleted"),
      stat("Duplicates / superseded", `${fmtInt(map.kept_for_history.duplicate)} / ${fmtInt(map.kept_for_history.superseded)}`, "decay-history"),
    ),
    h(
      "section",
      { class: "card" },
      map.cells.length ? grid(map, (a, r) => memoryList(list, { ...params, age_bucket: a.index, importance_bucket: r.index }, a, r)) : h("p", { class: "muted", testid: "decay-empty" }, "no live memories"),
      legend,
    ),
    list,
  );
  root.dataset.state = "ready";
  return null;
}
