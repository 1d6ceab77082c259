// The console shell: sign-in, the namespace and session pickers, and a hash router over the views.
import { ApiError, api, getBaseUrl, getKey, setBaseUrl, setKey } from "./api.js";
import { clear, h } from "./dom.js";
import { errorBox, remember, state } from "./ui.js";
import * as audit from "./views/audit.js";
import * as decay from "./views/decay.js";
import * as embedding from "./views/embedding.js";
import * as inspector from "./views/inspector.js";
import * as overview from "./views/overview.js";
import * as pipeline from "./views/pipeline.js";
import * as policy from "./views/policy.js";
import * as radar from "./views/radar.js";

const VIEWS = { overview, pipeline, radar, decay, embedding, inspector, audit, policy };
const NS_STORAGE = "memos.namespace";
const SESSION_STORAGE = "memos.session";
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

const $ = (id) => document.getElementById(id);
let cleanup = null;
let renderSeq = 0;

function currentView() {
  const name = (window.location.hash.replace(/^#\/?/, "").split("?")[0] || "overview").toLowerCase();
  return VIEWS[name] ? name : "overview";
}

async function renderView() {
  if (!getKey()) return;
  const name = currentView();
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.view === name);
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a view's cleanup must not block the next view */
    }
    cleanup = null;
  }
  const seq = ++renderSeq;
  const container = clear($("view"));
  container.dataset.view = name;
  const root = h("div", { class: `view view-${name}`, testid: `view-${name}` });
  container.append(root);
  try {
    const c = await VIEWS[name].render(root);
    if (seq === renderSeq) cleanup = typeof c === "function" ? c : null;
    else if (typeof c === "function") c();
  } catch (err) {
    if (seq === renderSeq) root.append(errorBox(err));
  }
}

// ---------------------------------------------------------------- pickers

function fillDatalist(id, values) {
  const list = clear($(id));
  for (const v of values) list.append(h("option", { value: v }));
}

function refreshNamespaceOptions() {
  fillDatalist("ns-options", [...state.namespaces].sort());
}

async function discoverNamespaces() {
  // The ops lists carry namespaces: recent audit events, context packs and condensations.
  const sources = [
    ["/v1/ops/audit", { limit: 500 }, "events"],
    ["/v1/ops/context_packs", { limit: 200 }, "context_packs"],
    ["/v1/ops/condensations", { limit: 200 }, "condensations"],
  ];
  const found = [];
  await Promise.all(
    sources.map(async ([path, params, field]) => {
      try {
        const page = await api.get(path, params);
        for (const row of page[field] || []) if (row.namespace) found.push(row.namespace);
      } catch {
        /* a key without ops:read still types namespaces by hand */
      }
    }),
  );
  for (const ns of found) state.namespaces.add(ns);
  refreshNamespaceOptions();
  return found; // newest activity first (audit order)
}

let sessionsSeq = 0;

async function loadSessions() {
  const seq = ++sessionsSeq; // only the newest call (the current namespace) fills the picker
  const sessions = [];
  const byId = new Map();
  if (state.namespace) {
    try {
      const page = await api.get("/v1/memories", { namespace: state.namespace, limit: 200 });
      for (const m of page.memories) {
        byId.set(m.memory_id, m);
        if (!sessions.includes(m.session_id)) sessions.push(m.session_id);
      }
    } catch {
      /* shown by the views that need data; the picker stays free text */
    }
  }
  if (seq !== sessionsSeq) return;
  state.sessions = sessions;
  state.memoriesById = byId;
  fillDatalist("session-options", [...sessions].sort());
}

function pickerValue(input) {
  const v = input.value.trim();
  if (v && !NAME.test(v)) {
    input.setCustomValidity("1-128 chars of [A-Za-z0-9_.:@-], starting with a letter or digit");
    input.reportValidity();
    return null;
  }
  input.setCustomValidity("");
  return v;
}

async function onNamespaceChange() {
  const v = pickerValue($("ns-picker"));
  if (v === null || v === state.namespace) return;
  state.namespace = v;
  sessionStorage.setItem(NS_STORAGE, v);
  remember(v);
  state.session = "";
  $("session-picker").value = "";
  sessionStorage.removeItem(SESSION_STORAGE);
  await loadSessions();
  renderView();
}

function onSessionChange() {
  const v = pickerValue($("session-picker"));
  if (v === null || v === state.session) return;
  state.session = v;
  sessionStorage.setItem(SESSION_STORAGE, v);
  renderView();
}

// ---------------------------------------------------------------- sign-in

async function probeAdmin() {
  // The API has no "who am I"; GET /v1/keys answers only to admin keys (403 otherwise).
  try {
    await api.get("/v1/keys");
    return true;
  } catch {
    return false;
  }
}

async function startSession() {
  $("signin").hidden = true;
  $("pickers").hidden = false;
  $("signout").hidden = false;
  state.isAdmin = await probeAdmin();
  $("role-badge").textContent = state.isAdmin ? "admin" : "read-only";
  $("role-badge").className = `pill ${state.isAdmin ? "ok" : ""}`;
  const found = await discoverNamespaces();
  const saved = sessionStorage.getItem(NS_STORAGE);
  state.namespace = saved !== null ? saved : found[0] || "";
  if (state.namespace) remember(state.namespace);
  $("ns-picker").value = state.namespace;
  await loadSessions();
  state.session = sessionStorage.getItem(SESSION_STORAGE) || "";
  $("session-picker").value = state.session;
  if (!window.location.hash) window.location.hash = "#/overview";
  document.body.dataset.ready = "true"; // signed in, pickers filled
  renderView();
}

function showSignIn(err) {
  delete document.body.dataset.ready;
  $("signin").hidden = false;
  $("pickers").hidden = true;
  $("signout").hidden = true;
  clear($("view"));
  const saved = localStorage.getItem("memos.baseUrl");
  $("signin-base").value = saved || "";
  const box = clear($("signin-error"));
  if (err) box.append(errorBox(err, "signin-error"));
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $("signin-key").value.trim();
  setBaseUrl($("signin-base").value);
  setKey(key);
  try {
    // Any authenticated read proves the key; 401 means it is wrong. A key without ops:read
    // (403 here) can still use the query views.
    await api.get("/v1/ops/stats");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) {
      setKey("");
      showSignIn(err);
      return;
    }
  }
  $("signin-key").value = "";
  checkHealth();
  startSession();
}

function signOut() {
  setKey("");
  sessionStorage.removeItem(NS_STORAGE);
  sessionStorage.removeItem(SESSION_STORAGE);
  state.namespaces.clear();
  if (cleanup) cleanup();
  cleanup = null;
  showSignIn();
}

async function checkHealth() {
  const el = $("api-health");
  el.title = getBaseUrl();
  try {
    const health = await api.health();
    el.textContent = `API ${health.status} · v${health.version}`;
    el.className = `pill ${health.status === "ok" ? "ok" : "warn"}`;
  } catch (err) {
    el.textContent = "API unreachable";
    el.className = "pill bad";
    el.title = err.message;
  }
}

// ---------------------------------------------------------------- boot

document.addEventListener("memos:namespaces", refreshNamespaceOptions);
$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
$("ns-picker").addEventListener("change", onNamespaceChange);
$("session-picker").addEventListener("change", onSessionChange);
window.addEventListener("hashchange", renderView);
checkHealth();
if (getKey()) startSession();
else showSignIn();
