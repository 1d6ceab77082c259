"""Every status and content type a route can answer, added to Powertools' generated document.

Powertools documents each route's success body from its models (and a 422 in its own shape).
What follows from how the API works is stated here once, keyed by the route table, so the
document a contract test checks against says exactly what the API sends:
- errors, in the one error shape (SPEC §2), with the statuses each route can give;
- 204 (no body) for a forgotten memory; JSON Lines for export; ``text/event-stream`` for the
  streamed answer.
"""

from __future__ import annotations

from typing import Any

from functions.routes import ROUTES, Route

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}

MEANING = {
    400: "malformed request: body not JSON (or a number too long to parse), invalid cursor, or a rule of the route",
    401: "no key, or an unknown or revoked key",
    403: "the key lacks the scope or the namespace",
    404: "no such resource (or one the key may not see)",
    406: "the client accepts neither JSON nor an event stream (MCP)",
    409: "conflicts with the current state; retry or change the request",
    413: "request body larger than the limit",
    415: "the body is not JSON (MCP)",
    422: "the request does not match the schema",
    429: "rate limit of the key exceeded (see Retry-After)",
    503: "a dependency (PostgreSQL, Redis, the queue) is unavailable",
}

# Statuses a route gives beyond what its shape implies (see statuses()).
_EXTRA: dict[tuple[str, str], set[int]] = {
    ("POST", "/v1/ingest"): {409},  # a lost concurrent race; an Idempotency-Key reused or in progress
    ("PATCH", "/v1/memories/{memory_id}"): {409},
    ("GET", "/v1/memories"): {400},
    ("GET", "/v1/ops/audit"): {400},
    ("GET", "/v1/ops/condensations"): {400},
    ("GET", "/v1/ops/context_packs"): {400},
    ("GET", "/v1/ops/procedural"): {400},
    # The MCP SDK answers a JSON-RPC body it cannot parse (400), a client that accepts neither
    # JSON nor an event stream (406) and a body that is not JSON (415).
    ("POST", "/v1/mcp"): {400, 406, 415},
}

# Success responses that are not a JSON model.
_SUCCESS: dict[tuple[str, str], dict[str, Any]] = {
    ("DELETE", "/v1/memories/{memory_id}"): {"204": {"description": "forgotten (no body)"}},
    ("GET", "/v1/namespaces/{namespace}/export"): {
        "200": {
            "description": "JSON Lines: one object per line (memory, summary, entity)",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
    ("POST", "/v1/mcp"): {
        "200": {
            "description": "JSON-RPC response of the MCP server (stateless streamable HTTP)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "202": {"description": "a JSON-RPC notification or response was accepted (no body)"},
    },
    ("POST", "/v1/answer/stream"): {
        "200": {
            "description": "server-sent events: context, delta (repeated), done",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
}


def statuses(route: Route, operation: dict[str, Any]) -> set[int]:
    """The error statuses one route can answer."""
    found = {413}  # every request body is measured before routing
    if route.scope is not None:
        found |= {401, 403, 429, 503}
    has_body = "requestBody" in operation
    if has_body:
        found |= {400, 422}
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        found.add(422)
    if "{" in route.path:
        found.add(404)
    return found | _EXTRA.get((route.method, route.path), set())


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add every route's error statuses and non-JSON success bodies to ``doc`` (in place)."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorResponse"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for route in ROUTES:
        operation = doc.get("paths", {}).get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        responses = operation.setdefault("responses", {})
        responses.pop("422", None)  # Powertools' own validation shape; ours replaces it below
        success = _SUCCESS.get((route.method, route.path))
        if success is not None:
            for code in [c for c in responses if c.startswith("2")]:
                del responses[code]
            responses.update(success)
        for status in sorted(statuses(route, operation)):
            documented = responses.get(str(status))
            if documented is None:
                responses[str(status)] = {"description": MEANING[status], "content": error}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc
