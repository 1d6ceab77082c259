// Memory Pipeline: GET /v1/ops/pipeline (queue, pending sessions, condensations, decay runs),
// refreshed every few seconds while the view is open.
import { api } from "../api.js";
import { clear, fmtInt, fmtPct, fmtTime, h, stat } from "../dom.js";
import { errorBox, pill, section, state } from "../ui.js";

const REFRESH_MS = 3_000;
const CATEGORIES = [
  ["facts", "Facts"],
  ["decisions", "Decisions"],
  ["preferences", "Preferences"],
  ["constraints", "Constraints"],
  ["pitfalls", "Pitfalls"],
  ["open_tasks", "Open tasks"],
  ["entities", "Entities"],
];

function itemText(item) {
  if (item && typeof item === "object") {
    return item.type ? `${item.text} (${item.type})` : String(item.text ?? JSON.stringify(item));
  }
  return String(item);
}

export function condensationCard(c) {
  const summary = c.summary && typeof c.summary === "object" ? c.summary : {};
  const saved = c.tokens_before !== null && c.tokens_after !== null ? c.tokens_before - c.tokens_after : null;
  const blocks = CATEGORIES.filter(([key]) => Array.isArray(summary[key]) && summary[key].length).map(([key, title]) =>
    h(
      "div",
      { class: `summary-block cat-${key}`, testid: `summary-${key}` },
      h("h4", {}, `${title} (${summary[key].length})`),
      h("ul", {}, summary[key].map((it) => h("li", {}, itemText(it)))),
    ),
  );
  const cls = c.status === "done" ? "ok" : c.status === "failed" ? "bad" : "warn";
  return h(
    "article",
    { class: "condensation", testid: "condensation-card", "data-id": c.id },
    h(
      "header",
      {},
      h("strong", {}, `${c.namespace} / ${c.session_id}`),
      h("span", { class: "muted" }, ` turns ${c.from_turn}–${c.to_turn}`),
      pill(c.status, cls, "condensation-status"),
      h(
        "span",
        { class: "tokens", testid: "condensation-tokens" },
        c.tokens_before === null
          ? "tokens —"
          : `${fmtInt(c.tokens_before)} → ${fmtInt(c.tokens_after)} tokens (saved ${fmtInt(saved)}, ${fmtPct(
              c.tokens_before ? saved / c.tokens_before : null,
            )})`,
      ),
      h("span", { class: "muted small" }, fmtTime(c.completed_at || c.created_at)),
    ),
    c.error ? h("div", { class: "error" }, c.error) : null,
    blocks.length ? h("div", { class: "summary-grid" }, blocks) : h("p", { class: "muted" }, "no structured summary"),
    c.summary_text ? h("details", {}, h("summary", {}, "summary text"), h("pre", {}, c.summary_text)) : null,
  );
}

function draw(body, p, updated) {
  const q = p.queue;
  const queueRow = q.available
    ? h(
        "div",
        { class: "stats-row" },
        stat("Queue depth", fmtInt(q.depth), "queue-depth"),
        stat("In flight", fmtInt(q.in_flight), "queue-in-flight"),
        stat("Dead-lettered", q.dead_lettered === null ? "n/a" : fmtInt(q.dead_lettered), "queue-dead-lettered"),
        stat("Sessions pending condensation", fmtInt(p.pending_sessions), "pending-sessions"),
      )
    : h(
        "div",
        { class: "stats-row" },
        h("div", { class: "notice", testid: "queue-unavailable" }, `Queue figures unavailable: ${q.detail || "not configured"}`),
        stat("Sessions pending condensation", fmtInt(p.pending_sessions), "pending-sessions"),
      );
  const byStatus = p.condensations_by_status;
  clear(body).append(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Memory pipeline"),
      h("span", { class: "muted" }, p.namespace ? `namespace ${p.namespace}` : "all namespaces this key may see"),
      h("span", { class: "muted small", testid: "pipeline-updated" }, `auto-refresh every ${REFRESH_MS / 1000} s · updated ${updated}`),
    ),
    queueRow,
    h(
      "div",
      { class: "muted small", testid: "condensations-by-status" },
      `condensations: ${fmtInt(byStatus.done)} done · ${fmtInt(byStatus.pending)} pending · ${fmtInt(byStatus.failed)} failed`,
    ),
    section(
      "Recent condensations",
      "recent-condensations",
      p.recent_condensations.length
        ? p.recent_condensations.map(condensationCard)
        : h("p", { class: "muted", testid: "no-condensations" }, "No condensations yet. A session is condensed after the policy's condense_after_turns or condense_after_tokens."),
    ),
    section(
      "Decay runs",
      "decay-runs",
      p.recent_decay_runs.length
        ? h(
            "table",
            { class: "table" },
            h("thead", {}, h("tr", {}, ["at", "namespace", "details"].map((c) => h("th", {}, c)))),
            h(
              "tbody",
              {},
              p.recent_decay_runs.map((e) =>
                h("tr", { testid: "decay-run" }, h("td", {}, fmtTime(e.at)), h("td", {}, e.namespace || "—"), h("td", { class: "mono small" }, JSON.stringify(e.details))),
              ),
            ),
          )
        : h("p", { class: "muted", testid: "no-decay-runs" }, "No decay runs recorded (the decay job runs on a schedule)."),
    ),
  );
}

export async function render(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading pipeline…"));
  root.append(body);
  let busy = false;
  const load = async () => {
    if (busy) return;
    busy = true;
    try {
      const p = await api.get("/v1/ops/pipeline", { namespace: state.namespace, limit: 20 });
      // Keep open <details> open across refreshes.
      const open = new Set([...body.querySelectorAll("article[data-id] details[open]")].map((d) => d.closest("article").dataset.id));
      draw(body, p, new Date().toLocaleTimeString());
      for (const id of open) {
        const d = body.querySelector(`article[data-id="${CSS.escape(id)}"] details`);
        if (d) d.open = true;
      }
    } catch (err) {
      clear(body).append(h("h1", {}, "Memory pipeline"), errorBox(err));
    } finally {
      busy = false;
    }
  };
  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}

