// System Overview: GET /v1/ops/stats (namespace filter from the picker, else all the key may see).
import { api } from "../api.js";
import { barList, throughputChart } from "../charts.js";
import { clear, fmtInt, fmtNum, fmtPct, fmtTime, h, stat } from "../dom.js";
import { errorBox, pill, section, state } from "../ui.js";

const REFRESH_MS = 10_000;

function tokenRow(name, f, testid) {
  return h(
    "tr",
    { testid },
    h("th", {}, name),
    h("td", {}, fmtInt(f.count)),
    h("td", {}, fmtInt(f.tokens_in)),
    h("td", {}, fmtInt(f.tokens_out)),
    h("td", {}, fmtInt(f.saved)),
    h("td", {}, fmtPct(f.savings_ratio)),
    h("td", {}, f.compression_ratio === null ? "—" : `${fmtNum(f.compression_ratio, 2)}×`),
  );
}

function healthCard(layer, dep, what) {
  const ok = dep.status === "ok";
  return h(
    "div",
    { class: `health ${ok ? "ok" : "bad"}`, testid: `health-${layer}` },
    h("div", { class: "health-head" }, h("strong", {}, layer), pill(dep.status, ok ? "ok" : "bad")),
    h("div", { class: "muted small" }, what),
    h("div", { class: "latency" }, dep.latency_ms === null ? "—" : `${fmtNum(dep.latency_ms, 2)} ms`),
    dep.detail ? h("div", { class: "small" }, dep.detail) : null,
  );
}

function draw(root, st) {
  const t = st.tokens;
  const byKind = Object.entries(st.memories.by_kind).map(([label, value]) => ({ label, value, cls: label }));
  const byStatus = Object.entries(st.memories.by_status).map(([label, value]) => ({ label, value }));
  clear(root).append(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "System overview"),
      h("span", { class: "muted", testid: "overview-scope" }, st.namespace ? `namespace ${st.namespace}` : "all namespaces this key may see"),
      h("span", { class: "muted small" }, `measured ${fmtTime(st.generated_at)}`),
    ),
    h(
      "div",
      { class: "stats-row" },
      stat("Live memories (L2)", fmtInt(st.memories.total), "stat-total-memories"),
      stat("Active contexts (L1 windows)", fmtInt(st.active_contexts), "stat-active-contexts"),
      stat("L3 entities · relations", `${fmtInt(st.layers.L3.entities)} · ${fmtInt(st.layers.L3.relations)}`, "stat-l3"),
      stat("Tokens saved", fmtInt(t.combined.saved), "stat-tokens-saved", h("span", { class: "small muted" }, ` ${fmtPct(t.combined.savings_ratio)}`)),
      stat(
        "Compression",
        t.combined.compression_ratio === null ? "—" : `${fmtNum(t.combined.compression_ratio, 2)}×`,
        "stat-compression",
      ),
      stat("Queue depth", st.queue_depth === null ? "n/a" : fmtInt(st.queue_depth), "stat-queue-depth"),
    ),
    section(
      "Throughput, last 60 minutes (per minute, UTC)",
      "throughput",
      throughputChart(st.throughput),
      h(
        "div",
        { class: "muted small", testid: "throughput-totals" },
        `ingested ${fmtInt(st.throughput.reduce((a, p) => a + p.ingested, 0))} · queries ${fmtInt(
          st.throughput.reduce((a, p) => a + p.queries, 0),
        )} in the last hour`,
      ),
    ),
    h(
      "div",
      { class: "grid2" },
      section("Memories by kind (live)", "memories-by-kind", barList(byKind, "kind")),
      section("Memories by status (all rows)", "memories-by-status", barList(byStatus, "status")),
    ),
    section(
      "Layer health",
      "layer-health",
      h(
        "div",
        { class: "health-row" },
        healthCard("L1", st.health.L1, `working memory (Redis) · ${fmtInt(st.layers.L1.active_sessions)} active sessions`),
        healthCard("L2", st.health.L2, `long-term store (PostgreSQL + pgvector) · ${fmtInt(st.layers.L2.memories)} memories`),
        healthCard("L3", st.health.L3, `entities (PostgreSQL) · ${fmtInt(st.layers.L3.entities)} entities`),
      ),
    ),
    section(
      "Token savings",
      "token-savings",
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          {},
          h("tr", {}, ["source", "count", "tokens in", "tokens out", "saved", "savings", "compression"].map((c) => h("th", {}, c))),
        ),
        h(
          "tbody",
          {},
          tokenRow("context packs (queries)", t.context_packs, "tokens-context-packs"),
          tokenRow("condensations (summaries)", t.condensations, "tokens-condensations"),
          tokenRow("combined", t.combined, "tokens-combined"),
        ),
      ),
    ),
  );
}

export async function render(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading stats…"));
  root.append(body);
  const load = async () => {
    try {
      draw(body, await api.get("/v1/ops/stats", { namespace: state.namespace }));
    } catch (err) {
      clear(body).append(h("h1", {}, "System overview"), errorBox(err));
    }
  };
  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}
