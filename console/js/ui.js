// Shared UI pieces: the app state (namespace, session, admin), error boxes, small widgets.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

export const state = {
  namespace: "", // "" = every namespace the key may see (ops views); query views need one
  session: "",
  isAdmin: false,
  namespaces: new Set(),
  sessions: [],
  memoriesById: new Map(), // text of recently listed memories, to label ids (filtered candidates)
};

/** A readable error: "403 forbidden — this key lacks the ops:read scope", with details listed. */
export function errorBox(err, testid = "error") {
  if (!(err instanceof ApiError)) {
    return h("div", { class: "error", testid, role: "alert" }, String(err && err.message ? err.message : err));
  }
  const head = `${err.status ? err.status + " " : ""}${err.code}: ${err.message}`;
  const details = err.details.map((d) =>
    h("li", {}, typeof d === "object" ? `${d.field || ""}${d.field ? ": " : ""}${d.message || JSON.stringify(d)}` : String(d)),
  );
  return h(
    "div",
    { class: "error", testid, role: "alert" },
    h("strong", {}, head),
    details.length ? h("ul", {}, details) : null,
    err.requestId ? h("div", { class: "muted small" }, `request id ${err.requestId}`) : null,
  );
}

/** Needs a namespace: a hint in place of the view when none is picked. */
export function needNamespace(what) {
  return h(
    "div",
    { class: "notice", testid: "need-namespace" },
    `Pick a namespace at the top to ${what}.`,
  );
}

export function remember(namespace) {
  if (namespace && !state.namespaces.has(namespace)) {
    state.namespaces.add(namespace);
    document.dispatchEvent(new CustomEvent("memos:namespaces"));
  }
}

export function pill(text, cls, testid) {
  return h("span", { class: `pill ${cls || ""}`, testid }, text);
}

export function layerClass(layer) {
  return `layer-${String(layer || "").toLowerCase()}`;
}

export function section(title, testid, ...children) {
  return h("section", { class: "card", testid }, h("h2", {}, title), ...children);
}
