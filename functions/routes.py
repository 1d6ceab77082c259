"""The single route table: API Gateway (CDK), the local server and the access check all read it.

It lives with the functions because it ships in their code asset (api_public builds the OpenAPI
document from it); CDK in infra/ imports it from here.

Each route names the function folder under ``functions/`` that serves it, the scope a caller's
key must hold (``None`` = public, no key needed) and where the request names its namespace
(``body``, ``query`` or ``path`` field ``namespace``; ``None`` when it names none or, for routes
by memory id, when the memory's own namespace decides). ``functions/shared/access.py`` enforces
both for every route; nothing else checks scopes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

NamespaceIn = Literal["body", "query", "path"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /v1/memories/{memory_id}
    function: str  # folder under functions/
    scope: str | None  # None: public (health only); "any": any valid key
    namespace_in: NamespaceIn | None = None


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    memory_mb: int = 512
    timeout_s: int = 15


_API_FUNCTION_SPECS = {
    f.name: f
    for f in (
        FunctionSpec("api_public", "Health and the OpenAPI document (no key)", 256, 10),
        FunctionSpec("api_memory", "Ingest, memory CRUD, sessions, namespaces"),
        FunctionSpec("api_query", "Query, answer, answer stream", 1024, 29),
        FunctionSpec("api_governance", "Policy and entities"),
        FunctionSpec("api_ops", "Ops read endpoints"),
        FunctionSpec("api_admin", "API key administration"),
        FunctionSpec("api_mcp", "MCP server over streamable HTTP (stateless, JSON responses)", 1024, 29),
    )
}

# Functions not behind API Gateway routes.
BACKGROUND_FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec("authorizer", "API Gateway REQUEST authorizer", 256, 5),
        FunctionSpec("condense", "SQS consumer: rolling session summaries", 1024, 60),
        FunctionSpec("decay", "EventBridge job: importance decay and TTL expiry", 1024, 300),
        FunctionSpec("migrate", "CloudFormation custom resource: SQL migrations", 512, 300),
    )
}

WRITE, READ, OPS, ADMIN = "memory:write", "memory:read", "ops:read", "admin"
ANY_KEY = "any"  # any valid key, whatever its scopes

ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/health", "api_public", None),
    Route("GET", "/v1/openapi.json", "api_public", ANY_KEY),
    Route("POST", "/v1/ingest", "api_memory", WRITE, "body"),
    Route("GET", "/v1/memories", "api_memory", READ, "query"),
    Route("GET", "/v1/memories/{memory_id}", "api_memory", READ),
    Route("PATCH", "/v1/memories/{memory_id}", "api_memory", WRITE),
    Route("DELETE", "/v1/memories/{memory_id}", "api_memory", WRITE),
    Route("GET", "/v1/memories/{memory_id}/history", "api_memory", READ),
    Route("POST", "/v1/sessions/reset", "api_memory", WRITE, "body"),
    Route("DELETE", "/v1/namespaces/{namespace}", "api_memory", ADMIN, "path"),
    Route("GET", "/v1/namespaces/{namespace}/export", "api_memory", READ, "path"),
    Route("POST", "/v1/query", "api_query", READ, "body"),
    Route("POST", "/v1/answer", "api_query", READ, "body"),
    Route("POST", "/v1/answer/stream", "api_query", READ, "body"),
    Route("GET", "/v1/policy", "api_governance", READ, "query"),
    Route("PUT", "/v1/policy", "api_governance", ADMIN, "body"),
    Route("GET", "/v1/entities", "api_governance", READ, "query"),
    Route("GET", "/v1/ops/stats", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/pipeline", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/audit", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/condensations", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/context_packs", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/procedural", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/decay", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/decay/memories", "api_ops", OPS, "query"),
    Route("GET", "/v1/ops/embedding_map", "api_ops", OPS, "query"),
    Route("POST", "/v1/ops/embedding_map/query", "api_ops", OPS, "body"),
    Route("POST", "/v1/keys", "api_admin", ADMIN),
    Route("GET", "/v1/keys", "api_admin", ADMIN),
    Route("DELETE", "/v1/keys/{key_id}", "api_admin", ADMIN),
    # Each MCP tool is checked as the route it stands for (functions/api_mcp: TOOL_ROUTES).
    Route("POST", "/v1/mcp", "api_mcp", ANY_KEY),
)


# Only functions that serve at least one route get a Lambda (and a place in the OpenAPI document).
API_FUNCTIONS: dict[str, FunctionSpec] = {
    name: spec for name, spec in _API_FUNCTION_SPECS.items() if any(r.function == name for r in ROUTES)
}


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


@cache
def _compiled() -> tuple[tuple[Route, re.Pattern[str]], ...]:
    return tuple((route, _pattern(route.path)) for route in ROUTES)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, raw path parameters, whether the path exists under another method)."""
    path_known = False
    for route, pattern in _compiled():
        m = pattern.match(path)
        if m:
            path_known = True
            if route.method == method:
                return route, m.groupdict(), True
    return None, {}, path_known


def route(method: str, path: str) -> Route:
    """The route for a method and an API Gateway resource path (``/v1/memories/{memory_id}``)."""
    for r in ROUTES:
        if r.method == method and r.path == path:
            return r
    raise KeyError(f"{method} {path}")
