// Context Inspector: the raw retrieved context (POST /v1/query results with score components) next
// to the context pack an agent would get (context_pack.text, token_usage); send a message
// (POST /v1/ingest) and ask (POST /v1/query, POST /v1/answer with citations).
import { api, schemaEnum, stream } from "../api.js";
import { clear, fmtInt, fmtNum, fmtPct, fmtTime, h, shortId, stat } from "../dom.js";
import { errorBox, layerClass, needNamespace, pill, state } from "../ui.js";

let last = null; // the last query/answer, kept across visits of the view (same namespace)

function components(c) {
  return h(
    "div",
    { class: "components" },
    Object.entries(c).map(([k, v]) => h("span", { class: "comp", title: k }, `${k} ${fmtNum(v, 2)}`)),
  );
}

function drawQuery(out, resp) {
  const u = resp.token_usage;
  const pack = resp.context_pack;
  clear(out).append(
    h(
      "div",
      { class: "stats-row", testid: "token-usage" },
      stat("Candidate tokens", fmtInt(u.candidates), "usage-candidates"),
      stat("Packed tokens", fmtInt(u.packed), "usage-packed"),
      stat("Saved", fmtInt(u.saved), "usage-saved"),
      stat("Savings", fmtPct(u.ratio), "usage-ratio"),
      stat("Query time", `${fmtNum(resp.timings_ms.total, 1)} ms`, "usage-time"),
    ),
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "card", testid: "raw-context" },
        h("h2", {}, `Retrieved raw context (${resp.results.length})`),
        resp.results.length
          ? h(
              "ol",
              { class: "results" },
              resp.results.map((r) =>
                h(
                  "li",
                  { testid: "result-item", "data-memory-id": r.memory_id },
                  h(
                    "div",
                    { class: "result-head" },
                    pill(r.layer, layerClass(r.layer)),
                    h("strong", { class: "mono" }, fmtNum(r.score)),
                    h("span", { class: "muted small" }, ` ${r.session_id} · ${r.role} · ${r.kind} · ${fmtTime(r.occurred_at)}`),
                  ),
                  h("div", { class: "result-text", testid: "result-text" }, r.text),
                  components(r.components),
                ),
              ),
            )
          : h("p", { class: "muted", testid: "no-results" }, "no results"),
      ),
      h(
        "section",
        { class: "card", testid: "context-pack" },
        h("h2", {}, `Context pack · ${fmtInt(pack.tokens)} tokens`),
        h("div", { class: "muted small" }, `pack ${shortId(pack.id)} · ${pack.items.length} items · ${pack.l1_window.length} L1 turns · ${pack.entities.length} entities`),
        h("pre", { class: "pack", testid: "context-pack-text" }, pack.text || "(empty)"),
      ),
    ),
  );
}

function drawAnswer(out, resp, results) {
  const byId = new Map((results || []).map((r) => [r.memory_id, r]));
  clear(out).append(
    h(
      "section",
      { class: "card answer", testid: "answer" },
      h("h2", {}, "Answer ", pill(resp.mode, ""), resp.streamed_pieces ? h("span", { class: "muted small", testid: "answer-stream-state" }, ` streamed in ${resp.streamed_pieces} piece${resp.streamed_pieces === 1 ? "" : "s"}`) : null),
      h("p", { class: "answer-text", testid: "answer-text" }, resp.answer),
      h("h3", {}, `Citations (${resp.citations.length})`),
      h(
        "ul",
        { testid: "citations" },
        resp.citations.map((id) => {
          const m = byId.get(id) || state.memoriesById.get(id);
          return h("li", { testid: "citation", "data-memory-id": id }, h("span", { class: "mono small" }, shortId(id)), " ", m ? m.text : "");
        }),
      ),
      h(
        "div",
        { class: "muted small", testid: "answer-usage" },
        `context pack ${shortId(resp.context_pack_id)} · ${fmtInt(resp.token_usage.packed)} of ${fmtInt(resp.token_usage.candidates)} tokens (saved ${fmtPct(resp.token_usage.ratio)})`,
      ),
    ),
  );
}

/** POST /v1/answer/stream: the answer grows as its deltas arrive; resolves with the done event's
 * AnswerResponse (an error event rejects). */
async function streamAnswer(out, body) {
  const text = h("p", { class: "answer-text", testid: "answer-text", "aria-live": "polite", "aria-busy": "true" });
  const status = h("span", { class: "muted small", testid: "answer-stream-state" }, "retrieving…");
  clear(out).append(h("section", { class: "card answer", testid: "answer" }, h("h2", {}, "Answer ", status), text));
  let result = null;
  let failure = null;
  let deltas = 0;
  await stream("/v1/answer/stream", body, (name, data) => {
    if (name === "context") status.textContent = `context pack ${shortId(data.context_pack_id)} ready · answering…`;
    else if (name === "delta") {
      deltas += 1;
      text.append(data.text);
      status.textContent = `streaming · ${deltas} piece${deltas === 1 ? "" : "s"}`;
    } else if (name === "done") result = data;
    else if (name === "error") failure = data.error;
  });
  if (failure) throw new Error(`${failure.code}: ${failure.message}`);
  if (!result) throw new Error("the answer stream ended before its done event");
  return { ...result, streamed_pieces: deltas };
}

function ingestForm(status, roles, kinds) {
  const session = h("input", { type: "text", name: "session_id", required: true, value: state.session || "", list: "session-options", testid: "ingest-session" });
  const role = h("select", { name: "role", testid: "ingest-role" }, roles.map((r) => h("option", { value: r }, r)));
  const kind = h("select", { name: "kind", testid: "ingest-kind" }, kinds.map((k) => h("option", { value: k }, k)));
  const text = h("textarea", { name: "text", rows: 2, required: true, testid: "ingest-text", placeholder: "what was said" });
  const form = h(
    "form",
    { class: "card form-grid", testid: "ingest-form" },
    h("h2", {}, "Send a message"),
    h("label", {}, "Session", session),
    h("label", {}, "Role", role),
    h("label", {}, "Kind", kind),
    h("label", { class: "wide" }, "Text", text),
    h("button", { type: "submit", testid: "ingest-submit" }, "Ingest"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(status);
    try {
      const resp = await api.post("/v1/ingest", {
        namespace: state.namespace,
        session_id: session.value.trim(),
        role: role.value,
        kind: kind.value,
        text: text.value,
      });
      const m = resp.memories[0];
      status.append(
        h(
          "div",
          { class: "notice ok", testid: "ingest-status" },
          `${m.status}: memory ${shortId(m.memory_id)}` +
            (m.duplicate_of ? ` (duplicate of ${shortId(m.duplicate_of)})` : "") +
            (m.supersedes ? ` (supersedes ${shortId(m.supersedes)})` : "") +
            (resp.condensation_enqueued ? " · condensation enqueued" : ""),
        ),
      );
      state.memoriesById.set(m.memory_id, { memory_id: m.memory_id, session_id: session.value.trim(), role: role.value, text: text.value });
      text.value = "";
    } catch (err) {
      status.append(errorBox(err, "ingest-error"));
    }
  });
  return form;
}

export async function render(root) {
  // Roles and kinds come from the OpenAPI document (the IngestItem schema), never copied here.
  const [roles, kinds] = await Promise.all([
    schemaEnum("IngestItem", "role").catch(() => []),
    schemaEnum("IngestItem", "kind").catch(() => []),
  ]);
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Context inspector"), h("span", { class: "muted" }, state.namespace || "")));
  if (!state.namespace) {
    root.append(needNamespace("inspect its context"));
    return null;
  }
  const ingestStatus = h("div");
  const question = h("input", { type: "text", name: "query", required: true, testid: "ask-query", placeholder: "ask something", value: last?.text || "" });
  const scope = h("select", { name: "scope", testid: "ask-scope" }, h("option", { value: "namespace" }, "namespace"), h("option", { value: "session" }, "session"));
  const topK = h("input", { type: "number", name: "top_k", min: 1, max: 100, value: 8, testid: "ask-topk" });
  const budget = h("input", { type: "number", name: "token_budget", min: 50, max: 32000, placeholder: "policy default", testid: "ask-budget" });
  const queryBtn = h("button", { type: "submit", value: "query", testid: "ask-query-submit" }, "Query");
  const answerBtn = h("button", { type: "submit", value: "answer", testid: "ask-answer-submit" }, "Answer");
  const askForm = h(
    "form",
    { class: "card form-row", testid: "ask-form" },
    h("label", { class: "grow" }, "Question", question),
    h("label", {}, "Scope", scope),
    h("label", {}, "top_k", topK),
    h("label", {}, "Token budget", budget),
    queryBtn,
    answerBtn,
  );
  const errBox = h("div");
  const out = h("div", { testid: "inspector-out" });
  const answerOut = h("div");
  askForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(errBox);
    const mode = ev.submitter && ev.submitter.value === "answer" ? "answer" : "query";
    const opts = {
      namespace: state.namespace,
      scope: scope.value,
      top_k: Number(topK.value) || 8,
      ...(budget.value ? { token_budget: Number(budget.value) } : {}),
      ...(state.session ? { session_id: state.session } : {}),
    };
    try {
      if (mode === "answer") {
        const resp = await streamAnswer(answerOut, { ...opts, question: question.value });
        drawAnswer(answerOut, resp, last?.query?.results);
        last = { ...(last || {}), text: question.value, answer: resp, namespace: state.namespace };
      } else {
        const resp = await api.post("/v1/query", { ...opts, query: question.value });
        clear(answerOut);
        drawQuery(out, resp);
        last = { text: question.value, query: resp, namespace: state.namespace };
      }
    } catch (err) {
      errBox.append(errorBox(err));
    }
  });
  root.append(
    h(
      "p",
      { class: "muted small" },
      state.session ? `Session ${state.session} (from the picker) is sent as session_id.` : "No session picked: queries cover the namespace.",
    ),
    h("div", { class: "inspector-forms" }, h("div", {}, askForm, errBox), h("div", {}, ingestForm(ingestStatus, roles, kinds), ingestStatus)),
    answerOut,
    out,
  );
  if (last && last.namespace === state.namespace) {
    if (last.query) drawQuery(out, last.query);
    if (last.answer) drawAnswer(answerOut, last.answer, last.query?.results);
  }
  return null;
}
