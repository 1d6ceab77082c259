"""The security matrix: every key shape × every route × own/other tenant.

For each cell the test knows from the route's scope and the key's grant whether the request is
allowed, and asserts: no key (or a bad or revoked one) is 401 everywhere but the public routes;
a refused request is 403/404 in the error shape, changes nothing, and answers for another
tenant's existing namespace exactly as for one that does not exist; and no 2xx body ever holds
tenant B's data for a key that may not see tenant B.

Cells whose handler does not exist yet are skipped with the reason (the lead runs the full
matrix once every function is in place).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from functions.authorizer.handler import forget_cached_keys
from functions.routes import ROUTES, Route
from memos import working_memory
from memos.access import auth, keys_admin
from memos.access.auth import Identity
from memos.store import db
from tests.conftest import Api, make_key

KEYS = ("read_a", "write_a", "ops_a", "admin_a", "admin_all", "revoked", "none", "garbage")
TARGETS = ("own", "other")
# Routes whose allowed call would destroy the shared fixture data: they act on scratch data instead.
DESTRUCTIVE = {
    ("PATCH", "/v1/memories/{memory_id}"),
    ("DELETE", "/v1/memories/{memory_id}"),
    ("POST", "/v1/sessions/reset"),
    ("DELETE", "/v1/namespaces/{namespace}"),
    ("DELETE", "/v1/keys/{key_id}"),
    ("PUT", "/v1/policy"),
}


@dataclass
class World:
    a: str  # tenant A's prefix
    b: str  # tenant B's prefix
    a_ns: str
    b_ns: str
    b_missing: str
    b_mark: str
    mem: dict[str, str]  # namespace -> a memory id in it
    key_ids: dict[str, str]  # namespace -> the id of a key granted exactly that namespace
    apis: dict[str, Api] = field(default_factory=dict)
    who: dict[str, Identity | None] = field(default_factory=dict)
    admin: Api | None = None

    def b_values(self) -> list[str]:
        """Strings that must never appear in a body returned to a key that cannot see tenant B."""
        return [self.b, self.b_mark, self.mem[self.b_ns], self.key_ids[self.b_ns]]


@pytest.fixture(scope="module", autouse=True)
def no_rate_limit():
    """The matrix sends hundreds of requests per key; rate limits have their own tests."""
    from types import SimpleNamespace

    from memos.access import ratelimit

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ratelimit, "get_settings", lambda: SimpleNamespace(rate_limit_rps=0, rate_limit_burst=1))
        yield


def _seed(admin: Api, ns: str, texts: list[str], session: str = "s") -> list[str]:
    items = [{"session_id": session, "role": "user", "text": t} for t in texts]
    status, body, _ = admin.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def _key_for(ns: str) -> str:
    with db.connection() as conn:
        _, row = auth.create_key(conn, f"matrix-{ns}", ["memory:read"], [ns])
        conn.commit()
    return str(row["id"])


@pytest.fixture(scope="module")
def world(env: dict[str, Any], admin_key: str) -> World:
    suffix = uuid.uuid4().hex[:6]
    a, b = f"ta{suffix}", f"tb{suffix}"
    w = World(
        a=a,
        b=b,
        a_ns=f"{a}-main",
        b_ns=f"{b}-main",
        b_missing=f"{b}-void",
        b_mark=f"BMARK{uuid.uuid4().hex[:8]}",
        mem={},
        key_ids={},
    )
    w.admin = Api(admin_key)
    w.mem[w.a_ns] = _seed(
        w.admin, w.a_ns, ["Alice Silva lives in Lisbon and likes espresso", "alpha marker"]
    )[0]
    w.mem[w.b_ns] = _seed(
        w.admin, w.b_ns, [f"Bruno Costa keeps the {w.b_mark} vault code in Porto", f"bravo {w.b_mark} marker"]
    )[0]
    w.admin.call("POST", "/v1/query", {"namespace": w.b_ns, "query": "vault code"})  # a context pack in B
    for ns in (w.a_ns, w.b_ns):
        w.key_ids[ns] = _key_for(ns)
    grants = {
        "read_a": (["memory:read"], [w.a_ns]),
        "write_a": (["memory:write"], [w.a_ns]),
        "ops_a": (["ops:read"], [f"{a}*"]),
        "admin_a": (["admin"], [f"{a}*"]),
        "admin_all": (["admin"], ["*"]),
        "revoked": (["memory:read", "memory:write"], [w.a_ns]),
    }
    for name, (scopes, namespaces) in grants.items():
        key = make_key(scopes, namespaces)
        w.apis[name] = Api(key)
        w.who[name] = None if name == "revoked" else Identity("", frozenset(scopes), tuple(namespaces))
    with db.connection() as conn:
        revoked_id = conn.execute(
            "SELECT id FROM api_keys WHERE key_hash = %s", (auth.hash_key(w.apis["revoked"].key or ""),)
        ).fetchone()["id"]
        auth.revoke_key(conn, str(revoked_id))
        conn.commit()
    forget_cached_keys()
    w.apis["none"], w.who["none"] = Api(None), None
    w.apis["garbage"], w.who["garbage"] = Api(f"memos_00000000_{uuid.uuid4().hex}"), None
    return w


# --- what a cell is allowed to do --------------------------------------------------------------


def _allowed(route: Route, who: Identity, ns: str) -> bool:
    if route.path == "/v1/keys" and route.method == "GET":
        return who.has_scope("admin")
    if route.path.startswith("/v1/keys"):  # create or revoke a key granted exactly ``ns``
        return who.has_scope("admin") and keys_admin.within_grant(who.namespaces, [ns])
    assert route.scope is not None
    if route.scope == "any":  # any valid key, no namespace (the OpenAPI document)
        return True
    return who.has_scope(route.scope) and who.can_see(ns)


def _served(route: Route) -> bool:
    if importlib.util.find_spec(f"functions.{route.function}") is None:
        return False
    try:
        app = importlib.import_module(f"functions.{route.function}.handler").app
    except ModuleNotFoundError:
        return False
    return any(
        (r.method.upper(), r.openapi_path) == (route.method, route.path)
        for r in app._static_routes + app._dynamic_routes
    )


# --- requests ----------------------------------------------------------------------------------


def _policy_body(w: World, ns: str) -> dict[str, Any]:
    """PUT /v1/policy's body, nested the way the served schema says (flat or under policy/settings)."""
    doc = w.admin.call("GET", "/v1/openapi.json")[1] if w.admin else {}
    change = {"l1_window_size": 25}
    try:
        ref = doc["paths"]["/v1/policy"]["put"]["requestBody"]["content"]["application/json"]["schema"][
            "$ref"
        ]
        props = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("properties", {})
    except (KeyError, TypeError):
        props = {}
    for wrapper in ("policy", "settings", "overrides"):
        if wrapper in props:
            return {"namespace": ns, wrapper: change}
    return {"namespace": ns, **change}


def _scratch(w: World, route: Route, ns: str) -> dict[str, str]:
    """Fresh resources in ``ns``'s tenant for an allowed destructive call."""
    tenant = w.a if ns.startswith(w.a) else w.b
    assert w.admin is not None
    if route.path == "/v1/namespaces/{namespace}":
        scratch_ns = f"{tenant}-scratch-{uuid.uuid4().hex[:6]}"
        _seed(w.admin, scratch_ns, ["scratch namespace memory"])
        return {"ns": scratch_ns}
    if route.path == "/v1/keys/{key_id}":
        return {"key_id": _key_for(ns)}
    session = f"scratch-{uuid.uuid4().hex[:6]}"
    return {"memory_id": _seed(w.admin, ns, [f"scratch memory {session}"], session)[0], "session": session}


def _request(
    w: World, route: Route, ns: str, *, scratch: dict[str, str] | None = None, missing: bool = False
) -> tuple[str, str, Any]:
    scratch = scratch or {}
    mid = str(uuid.uuid4()) if missing else scratch.get("memory_id", w.mem.get(ns, ""))
    key_id = str(uuid.uuid4()) if missing else scratch.get("key_id", w.key_ids.get(ns, ""))
    target_ns = scratch.get("ns", ns)
    session = scratch.get("session", "s")
    m, p = route.method, route.path
    bodies: dict[tuple[str, str], tuple[str, Any]] = {
        ("GET", "/v1/health"): (p, None),
        ("GET", "/v1/openapi.json"): (p, None),
        ("POST", "/v1/ingest"): (
            p,
            {"namespace": ns, "session_id": "s", "role": "user", "text": "matrix write"},
        ),
        ("GET", "/v1/memories"): (f"{p}?namespace={ns}", None),
        ("GET", "/v1/memories/{memory_id}"): (f"/v1/memories/{mid}", None),
        ("PATCH", "/v1/memories/{memory_id}"): (f"/v1/memories/{mid}", {"text": "patched by the matrix"}),
        ("DELETE", "/v1/memories/{memory_id}"): (f"/v1/memories/{mid}", None),
        ("GET", "/v1/memories/{memory_id}/history"): (f"/v1/memories/{mid}/history", None),
        ("POST", "/v1/sessions/reset"): (p, {"namespace": ns, "session_id": session, "confirm": True}),
        ("DELETE", "/v1/namespaces/{namespace}"): (f"/v1/namespaces/{target_ns}", None),
        ("GET", "/v1/namespaces/{namespace}/export"): (f"/v1/namespaces/{ns}/export", None),
        ("POST", "/v1/query"): (p, {"namespace": ns, "query": "vault code marker espresso"}),
        ("POST", "/v1/answer"): (p, {"namespace": ns, "question": "Where is the vault code kept?"}),
        ("POST", "/v1/answer/stream"): (p, {"namespace": ns, "question": "Where is the vault code kept?"}),
        ("GET", "/v1/policy"): (f"{p}?namespace={ns}", None),
        ("PUT", "/v1/policy"): (p, _policy_body(w, ns) if route.method == "PUT" else None),
        ("GET", "/v1/entities"): (f"{p}?namespace={ns}&q=Costa", None),
        ("POST", "/v1/keys"): (p, {"name": "matrix", "scopes": ["memory:read"], "namespaces": [ns]}),
        ("GET", "/v1/keys"): (p, None),
        ("DELETE", "/v1/keys/{key_id}"): (f"/v1/keys/{key_id}", None),
        # Any key reaches the MCP endpoint; the tool checks scope and namespace (must not leak B).
        ("POST", "/v1/mcp"): (
            p,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {
                    "name": "recall",
                    "arguments": {"namespace": ns, "query": "vault code marker espresso"},
                },
            },
        ),
    }
    if p.startswith("/v1/ops/") and m == "POST":  # the embedding map's query overlay: a query
        return m, p, {"namespace": ns, "query": "vault code marker espresso"}
    if p.startswith("/v1/ops/"):
        return m, f"{p}?namespace={ns}", None
    path, body = bodies[(m, p)]
    return m, path, body


# --- observing state ---------------------------------------------------------------------------


def _namespace_tables(db_conn: Any) -> list[str]:
    rows = db_conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'namespace'"
        " AND table_schema = 'public' AND table_name <> 'audit_events' ORDER BY table_name"
    ).fetchall()
    return [r["table_name"] for r in rows]


def _snapshot(db_conn: Any, env: dict[str, Any], ns: str) -> dict[str, Any]:
    """Every row of ``ns`` in every table, the keys table, and ``ns``'s L1 window."""
    snap: dict[str, Any] = {}
    for table in _namespace_tables(db_conn):
        snap[table] = db_conn.execute(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h"
            f" FROM {table} t WHERE namespace = %s",
            (ns,),
        ).fetchone()
    snap["api_keys"] = db_conn.execute(
        "SELECT md5(string_agg(concat_ws(',', id, revoked_at, scopes, namespaces), '|' ORDER BY id)) AS h"
        " FROM api_keys"
    ).fetchone()
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    snap["l1"] = r.lrange(working_memory.window_key(ns, "s"), 0, -1)
    return snap


def _is_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and {"code", "message", "details"} <= set(body["error"])
    )


def _assert_no_b_data(w: World, body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    for value in w.b_values():
        assert value not in text, f"tenant B data ({value}) leaked"


def _normalized(w: World, body: Any) -> str:
    return json.dumps(body).replace(w.b_missing, "<ns>").replace(w.b_ns, "<ns>")


# --- the matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method}:{r.path}")
@pytest.mark.parametrize("key", KEYS)
def test_security_matrix(
    world: World, key: str, route: Route, target: str, db_conn: Any, env: dict[str, Any]
):
    if not _served(route):
        pytest.skip(f"{route.function} does not serve {route.method} {route.path} yet")
    w, api, who = world, world.apis[key], world.who[key]
    ns = w.a_ns if target == "own" else w.b_ns
    allowed = route.scope is None or (who is not None and _allowed(route, who, ns))
    scratch = _scratch(w, route, ns) if allowed and (route.method, route.path) in DESTRUCTIVE else None
    method, path, body = _request(w, route, ns, scratch=scratch)
    before = _snapshot(db_conn, env, ns)

    status, out, headers = api.call(method, path, body)

    assert headers.get("x-request-id")
    sees_b = who is not None and who.can_see(w.b_ns)
    if route.scope is None:
        assert status == 200 or (route.path == "/v1/health" and status == 503), (status, out)
    elif who is None:
        assert status == 401 and _is_error(out) and out["error"]["code"] == "unauthorized", (status, out)
    elif allowed:
        assert 200 <= status < 300, (status, out)
    else:
        assert status in (403, 404) and _is_error(out), (status, out)
    if not allowed:
        assert _snapshot(db_conn, env, ns) == before, "a refused request changed stored data"
    if 200 <= status < 300 and not sees_b:
        _assert_no_b_data(w, out)
    if not allowed and target == "other":
        # Another tenant's existing namespace (or id) answers exactly like one that does not exist.
        m2, p2, b2 = _request(w, route, w.b_missing, missing=True)
        status2, out2, _ = api.call(m2, p2, b2)
        assert (status, _normalized(w, out)) == (status2, _normalized(w, out2))


# The console's maps are of one named namespace and have no unfiltered form (422 without one);
# tests/integration/test_memory_maps_api.py covers their grants.
NAMESPACE_REQUIRED = {"/v1/ops/decay", "/v1/ops/decay/memories", "/v1/ops/embedding_map"}
OPS_LISTINGS = [
    r
    for r in ROUTES
    if r.method == "GET"
    and (r.path.startswith("/v1/ops/") or r.path == "/v1/keys")
    and r.path not in NAMESPACE_REQUIRED
]


@pytest.mark.parametrize("route", OPS_LISTINGS, ids=lambda r: r.path)
@pytest.mark.parametrize("key", KEYS)
def test_unfiltered_listings_show_only_what_the_key_may_see(world: World, key: str, route: Route):
    if not _served(route):
        pytest.skip(f"{route.function} does not serve {route.method} {route.path} yet")
    who = world.who[key]
    status, out, _ = world.apis[key].call("GET", route.path)
    if who is None:
        assert status == 401 and _is_error(out)
    elif who.has_scope(route.scope or ""):
        assert status == 200, (status, out)
        if not who.can_see(world.b_ns):
            _assert_no_b_data(world, out)
    else:
        assert status == 403 and _is_error(out)


def test_a_cross_tenant_denial_is_audited_without_the_namespace(world: World, db_conn: Any):
    api = world.apis["read_a"]
    status, _, headers = api.call("POST", "/v1/query", {"namespace": world.b_ns, "query": "vault"})
    assert status == 403
    row = db_conn.execute(
        "SELECT actor, namespace, details FROM audit_events WHERE action = 'access_denied' AND request_id = %s",
        (headers["x-request-id"],),
    ).fetchone()
    assert row is not None and row["actor"] and row["details"]["path"] == "/v1/query"
    key_row = db_conn.execute(
        "SELECT id FROM api_keys WHERE key_hash = %s", (auth.hash_key(api.key or ""),)
    ).fetchone()
    assert row["actor"] == str(key_row["id"])


def test_revoked_and_garbage_keys_are_refused_on_every_keyed_route(world: World):
    for key in ("revoked", "garbage", "none"):
        for route in ROUTES:
            if route.scope is None or not _served(route):
                continue
            method, path, body = _request(world, route, world.a_ns)
            status, out, _ = world.apis[key].call(method, path, body)
            assert status == 401 and _is_error(out), (key, route, status)
