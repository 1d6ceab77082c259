// The API client: base URL + key from the browser's storage, JSON in and out, and every error
// (HTTP or network) turned into an ApiError carrying the SPEC shape {code, message, details}.

const KEY_STORAGE = "memos.apiKey"; // sessionStorage: gone when the tab closes
const BASE_STORAGE = "memos.baseUrl"; // localStorage: not a secret

export class ApiError extends Error {
  constructor(status, code, message, details, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.requestId = requestId || null;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** The API base URL: the saved setting, else the page's own origin. No trailing slash. */
export function getBaseUrl() {
  const saved = localStorage.getItem(BASE_STORAGE);
  return (saved || window.location.origin).replace(/\/+$/, "");
}

export function setBaseUrl(url) {
  const clean = (url || "").trim().replace(/\/+$/, "");
  if (clean) localStorage.setItem(BASE_STORAGE, clean);
  else localStorage.removeItem(BASE_STORAGE);
}

/** Build "?a=1&b=2" from an object, leaving out empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === "") continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${getKey()}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(getBaseUrl() + path, init);
  } catch (err) {
    throw new ApiError(
      0,
      "network_error",
      `cannot reach ${getBaseUrl()} (${err.message}); check the API base URL, and that the API allows ` +
        "CORS from this origin when the console is hosted elsewhere",
      [],
    );
  }
  const requestId = resp.headers.get("x-request-id");
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const e = data && data.error;
    if (e && typeof e === "object") {
      throw new ApiError(resp.status, e.code || "error", e.message || resp.statusText, e.details, requestId);
    }
    throw new ApiError(resp.status, "http_error", `HTTP ${resp.status} ${resp.statusText}`, [], requestId);
  }
  if (data === null && text) {
    throw new ApiError(resp.status, "bad_response", "the API answered with something that is not JSON", [], requestId);
  }
  return data;
}

/** POST ``path`` and read its text/event-stream as it arrives: ``onEvent(name, data)`` per event.
 * Errors before the stream starts (4xx/5xx JSON) throw an ApiError, as ``request`` does. */
export async function stream(path, body, onEvent) {
  const headers = { Accept: "text/event-stream", "Content-Type": "application/json", Authorization: `Bearer ${getKey()}` };
  let resp;
  try {
    resp = await fetch(getBaseUrl() + path, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "network_error", `cannot reach ${getBaseUrl()} (${err.message})`, []);
  }
  const requestId = resp.headers.get("x-request-id");
  if (!resp.ok) {
    let e = null;
    try {
      e = (await resp.json()).error;
    } catch {
      e = null;
    }
    throw new ApiError(resp.status, e?.code || "http_error", e?.message || `HTTP ${resp.status}`, e?.details, requestId);
  }
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    if (done) return;
  }
}

export const api = {
  get: (path, params) => request("GET", path + qs(params)),
  post: (path, body) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  health: () => request("GET", "/v1/health", undefined, { auth: false }),
};

let openapiDoc = null;

/** The API's OpenAPI document, fetched once per page: the source of every enumeration the views
 * offer (audit actions, roles, kinds, policy choices), so the console never copies them. */
export function openapi() {
  if (!openapiDoc) {
    openapiDoc = request("GET", "/v1/openapi.json").catch((err) => {
      openapiDoc = null;
      throw err;
    });
  }
  return openapiDoc;
}

/** The values a JSON schema allows: its enum, else the first enum among its anyOf branches or items. */
export function enumOf(schema) {
  if (!schema || typeof schema !== "object") return [];
  if (Array.isArray(schema.enum)) return schema.enum;
  for (const branch of schema.anyOf || []) {
    const found = enumOf(branch);
    if (found.length) return found;
  }
  return schema.items ? enumOf(schema.items) : [];
}

/** The enumeration of property ``prop`` of component schema ``name`` ([] when the document has none). */
export async function schemaEnum(name, prop) {
  const doc = await openapi();
  return enumOf(doc.components?.schemas?.[name]?.properties?.[prop]);
}

/** The enumeration of a route's query parameter. */
export async function paramEnum(path, method, name) {
  const doc = await openapi();
  const params = doc.paths?.[path]?.[method]?.parameters || [];
  return enumOf(params.find((p) => p.name === name)?.schema);
}
