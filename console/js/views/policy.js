// Policy: GET /v1/policy (any key that may read the namespace) and PUT /v1/policy (admin keys),
// with the API's 422 details shown next to the fields they name. Field descriptions come from
// the OpenAPI document's Policy schema, and so do the choices offered (kinds, conflict modes).
import { ApiError, api, enumOf, openapi } from "../api.js";
import { clear, fmtTime, h } from "../dom.js";
import { errorBox, needNamespace, state } from "../ui.js";

let schemaCache = null;

async function schemas() {
  if (schemaCache) return schemaCache;
  try {
    const doc = await openapi();
    schemaCache = doc.components?.schemas || {};
  } catch {
    schemaCache = {};
  }
  return schemaCache;
}

/** The enumeration the OpenAPI document gives for a policy key (searched in every schema, so nested
 * policy sections are found too). */
function choices(all, key) {
  for (const schema of Object.values(all)) {
    const found = enumOf(schema?.properties?.[key]);
    if (found.length) return found;
  }
  return [];
}

function describe(all, schemaName, key) {
  const p = all[schemaName]?.properties?.[key];
  return p?.description || "";
}

/** One input for one policy value; returns [element, read()] where read() gives the typed value. */
function input(path, value, disabled, all) {
  const key = path[path.length - 1];
  const testid = `policy-input-${path.join(".")}`;
  const id = `policy-${path.join("-")}`; // the field's <label for> names it for screen readers
  if (typeof value === "boolean") {
    const el = h("input", { type: "checkbox", checked: value, disabled, testid, id });
    return [el, () => el.checked];
  }
  const options = choices(all, key);
  if (options.length && !Array.isArray(value)) {
    const el = h("select", { disabled, testid, id }, options.map((v) => h("option", { value: v }, v)));
    el.value = value;
    return [el, () => el.value];
  }
  if (Array.isArray(value)) {
    const boxes = options.map((k) => h("input", { type: "checkbox", value: k, checked: value.includes(k), disabled }));
    const el = h("span", { class: "checks", testid, id, role: "group", "aria-label": path.join(".") }, options.map((k, i) => h("label", { class: "inline" }, boxes[i], k)));
    return [el, () => boxes.filter((b) => b.checked).map((b) => b.value)];
  }
  if (typeof value === "number" || value === null) {
    const el = h("input", { type: "number", step: "any", value: value === null ? "" : String(value), placeholder: value === null ? "none" : "", disabled, testid, id });
    return [el, () => (el.value.trim() === "" ? null : Number(el.value))];
  }
  const el = h("input", { type: "text", value: String(value), disabled, testid, id });
  return [el, () => el.value];
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function draw(body, out, all, onSaved) {
  const editable = state.isAdmin;
  const readers = []; // [path, read, original]
  const overridden = new Set(out.overridden);
  const row = (path, value, schemaName) => {
    const dotted = path.join(".");
    const [el, read] = input(path, value, !editable, all);
    readers.push([path, read, value]);
    return h(
      "div",
      { class: `policy-field ${overridden.has(dotted) ? "overridden" : ""}`, "data-field": dotted, testid: `policy-field-${dotted}` },
      h("label", { for: `policy-${path.join("-")}` }, h("span", { class: "mono" }, dotted), overridden.has(dotted) ? h("span", { class: "pill warn" }, "overridden") : null),
      el,
      h("span", { class: "muted small" }, describe(all, schemaName, path[path.length - 1])),
      h("span", { class: "field-error", testid: `policy-error-${dotted}` }),
    );
  };
  const fields = [];
  for (const [key, value] of Object.entries(out.policy)) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const schemaName = key === "weights" ? "RetrievalWeights" : key === "ttl_days" ? "KindTTL" : "";
      fields.push(
        h(
          "fieldset",
          { class: "policy-group" },
          h("legend", {}, key, " ", h("span", { class: "muted small" }, describe(all, "Policy", key))),
          Object.entries(value).map(([sub, v]) => row([key, sub], v, schemaName)),
        ),
      );
    } else {
      fields.push(row([key], value, "Policy"));
    }
  }
  const status = h("div");
  const save = h("button", { type: "submit", testid: "policy-save" }, "Save changes");
  const form = h(
    "form",
    { class: "card policy", testid: "policy-form" },
    h(
      "div",
      { class: "view-head" },
      h("h2", {}, `Policy of ${out.namespace}`),
      h(
        "span",
        { class: "muted small", testid: "policy-version" },
        out.version ? `version ${out.version} · updated ${fmtTime(out.updated_at)}` : "defaults only (version 0)",
      ),
      h("span", { class: "muted small" }, editable ? "You hold admin: edit and save; only changed keys are sent." : "Read-only: editing needs an admin key."),
    ),
    editable ? h("div", { class: "form-actions" }, save, status) : null,
    h("div", { class: "policy-fields" }, fields),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(status);
    for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
    for (const e of form.querySelectorAll(".policy-field.invalid")) e.classList.remove("invalid");
    const settings = {};
    for (const [path, read, original] of readers) {
      const v = read();
      if (same(v, original)) continue;
      if (path.length === 2) (settings[path[0]] ||= {})[path[1]] = v;
      else settings[path[0]] = v;
    }
    if (!Object.keys(settings).length) {
      status.append(h("span", { class: "muted", testid: "policy-status" }, "nothing changed"));
      return;
    }
    try {
      const saved = await api.put("/v1/policy", { namespace: out.namespace, settings });
      onSaved(saved, `saved: ${Object.keys(settings).join(", ")} (version ${saved.version})`);
    } catch (err) {
      status.append(errorBox(err, "policy-save-error"));
      if (err instanceof ApiError) {
        for (const d of err.details) {
          const field = String(d.field || "").replace(/^(body\.)?settings\./, "");
          const box = form.querySelector(`.policy-field[data-field="${CSS.escape(field)}"]`);
          if (box) {
            box.classList.add("invalid");
            box.querySelector(".field-error").textContent = d.message;
          }
        }
      }
    }
  });
  clear(body).append(form);
}

export async function render(root) {
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Policy"), h("span", { class: "muted" }, state.namespace || "")));
  if (!state.namespace) {
    root.append(needNamespace("see its policy"));
    return null;
  }
  const flash = h("div");
  const body = h("div", {}, h("p", { class: "muted" }, "Loading policy…"));
  root.append(flash, body);
  const all = await schemas();
  const onSaved = (saved, message) => {
    clear(flash).append(h("div", { class: "notice ok", testid: "policy-status" }, message));
    draw(body, saved, all, onSaved);
  };
  try {
    draw(body, await api.get("/v1/policy", { namespace: state.namespace }), all, onSaved);
  } catch (err) {
    clear(body).append(errorBox(err));
  }
  return null;
}
