// Audit: GET /v1/ops/audit filtered by namespace, session, action and time, paged with next_cursor
// ("load more"); the search box narrows the loaded events in the browser (the API has no text search).
import { api, paramEnum } from "../api.js";
import { clear, fmtTime, h, shortId } from "../dom.js";
import { errorBox, remember, state } from "../ui.js";


function isoOrEmpty(local) {
  if (!local) return "";
  const d = new Date(local); // datetime-local is the browser's local time
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

function detailsText(e) {
  const d = { ...e.details };
  if (Array.isArray(d.memory_ids) && d.memory_ids.length > 3) d.memory_ids = [...d.memory_ids.slice(0, 3).map(shortId), `…${d.memory_ids.length - 3} more`];
  return JSON.stringify(d);
}

export async function render(root) {
  const ns = h("input", { type: "text", name: "namespace", value: state.namespace, list: "ns-options", placeholder: "any", testid: "audit-namespace" });
  const session = h("input", { type: "text", name: "session_id", value: state.session, list: "session-options", placeholder: "any", testid: "audit-session" });
  // The audit actions come from the OpenAPI document (the action parameter's enum).
  const actions = await paramEnum("/v1/ops/audit", "get", "action").catch(() => []);
  const action = h("select", { name: "action", testid: "audit-action" }, h("option", { value: "" }, "any action"), actions.map((a) => h("option", { value: a }, a)));
  const since = h("input", { type: "datetime-local", name: "since", step: 1, testid: "audit-since" });
  const until = h("input", { type: "datetime-local", name: "until", step: 1, testid: "audit-until" });
  const pageSize = h("select", { name: "limit", testid: "audit-limit" }, [10, 50, 100, 500].map((n) => h("option", { value: n }, n)));
  pageSize.value = "50";
  const search = h("input", { type: "search", name: "q", placeholder: "search loaded events", testid: "audit-search" });
  const form = h(
    "form",
    { class: "card form-row", testid: "audit-form" },
    h("label", {}, "Namespace", ns),
    h("label", {}, "Session", session),
    h("label", {}, "Action", action),
    h("label", {}, "Since (local time)", since),
    h("label", {}, "Until", until),
    h("label", {}, "Page size", pageSize),
    h("button", { type: "submit", testid: "audit-apply" }, "Apply"),
    h("label", { class: "grow" }, "Search", search),
  );
  const errBox = h("div");
  const tbody = h("tbody", { testid: "audit-rows" });
  const count = h("span", { class: "muted small", testid: "audit-count" });
  const more = h("button", { type: "button", testid: "audit-more", hidden: true }, "Load more");
  let cursor = null;
  let filters = {};
  let events = [];
  let generation = 0; // a reset while a page is loading drops that page

  const applySearch = () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of tbody.children) {
      const hit = !q || tr.dataset.haystack.includes(q);
      tr.hidden = !hit;
      if (hit) shown++;
    }
    count.textContent = `${events.length} loaded${q ? `, ${shown} match “${search.value.trim()}”` : ""}${cursor ? " · more available" : " · end of log"}`;
  };

  const addRows = (page) => {
    for (const e of page) {
      remember(e.namespace);
      const details = detailsText(e);
      const tr = h(
        "tr",
        { testid: "audit-row", "data-action": e.action },
        h("td", { class: "nowrap" }, fmtTime(e.at)),
        h("td", {}, h("span", { class: `pill act-${e.action}` }, e.action)),
        h("td", {}, e.namespace || "—"),
        h("td", {}, e.session_id || "—"),
        h("td", { class: "mono small", title: e.actor || "" }, shortId(e.actor)),
        h("td", { class: "mono small", title: e.memory_id || "" }, e.memory_id ? shortId(e.memory_id) : "—"),
        h("td", { class: "mono small details" }, details),
      );
      tr.dataset.haystack = [e.action, e.namespace, e.session_id, e.actor, e.memory_id, e.request_id, JSON.stringify(e.details)].join(" ").toLowerCase();
      tbody.append(tr);
    }
  };

  const load = async (reset) => {
    clear(errBox);
    if (reset) generation++;
    const mine = generation;
    table.dataset.state = "loading";
    if (reset) {
      cursor = null;
      events = [];
      clear(tbody);
      filters = {
        namespace: ns.value.trim(),
        session_id: session.value.trim(),
        action: action.value,
        since: isoOrEmpty(since.value),
        until: isoOrEmpty(until.value),
        limit: Number(pageSize.value),
      };
    }
    try {
      const page = await api.get("/v1/ops/audit", { ...filters, cursor });
      if (mine !== generation) return;
      events = events.concat(page.events);
      cursor = page.next_cursor;
      addRows(page.events);
      more.hidden = !cursor;
    } catch (err) {
      if (mine !== generation) return;
      errBox.append(errorBox(err));
      more.hidden = true;
    }
    applySearch();
    table.dataset.state = "ready";
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load(true);
  });
  action.addEventListener("change", () => load(true));
  pageSize.addEventListener("change", () => load(true));
  search.addEventListener("input", applySearch);
  more.addEventListener("click", () => load(false));

  const table = h(
    "table",
    { class: "table audit", testid: "audit-table" },
    h("thead", {}, h("tr", {}, ["at (UTC)", "action", "namespace", "session", "actor", "memory", "details"].map((c) => h("th", {}, c)))),
    tbody,
  );
  root.append(
    h("div", { class: "view-head" }, h("h1", {}, "Audit log"), count),
    form,
    errBox,
    h(
      "div",
      { class: "card" },
      table,
      more,
    ),
  );
  await load(true);
  return null;
}
