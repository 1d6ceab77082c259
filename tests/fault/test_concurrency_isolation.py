"""The isolation matrix run concurrently: several threads, mixed keys, one real HTTP server.

Every (key, namespace, operation) cell is sent several times in a shuffled order from 8 threads
over keep-alive connections. The expected outcome of each cell comes from the key's grant as this
test defines it. Asserted: zero 5xx; every allowed request 2xx (no wrong 401/403); every refused
one 403/404 in the error shape; no 2xx body holds the marker of a tenant the key may not see; in
PostgreSQL, every acknowledged write exists exactly once in the namespace it named, no refused
write left a row, and every audited write's actor was allowed to make it.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from functions.routes import ROUTES
from memos.access import auth
from tests.conftest import Api, make_key
from tests.fault.local_http import Client, is_error_shape, local_server

THREADS = 8
ROUNDS = 4

# key name -> (scopes, namespace grants); "{a}"/"{b}" are the two tenants' prefixes.
GRANTS: dict[str, tuple[list[str], list[str]]] = {
    "read_a": (["memory:read"], ["{a}-main"]),
    "write_a": (["memory:write"], ["{a}-main"]),
    "read_b": (["memory:read"], ["{b}-main"]),
    "write_b": (["memory:write"], ["{b}-main"]),
    "ops_a": (["ops:read"], ["{a}*"]),
    "admin_a": (["admin"], ["{a}*"]),
    "admin_all": (["admin"], ["*"]),
}
WRITE_ACTIONS = {"ingest", "dedup", "supersede"}


def _scope_of(method: str, path: str) -> str:
    route = next(r for r in ROUTES if (r.method, r.path) == (method, path))
    assert route.scope is not None
    return route.scope


def _sees(grants: list[str], ns: str) -> bool:
    return any(ns.startswith(g[:-1]) if g.endswith("*") else ns == g for g in grants)


def _grants_allow(scopes: list[str], grants: list[str], scope: str, ns: str) -> bool:
    """The test's own statement of SPEC §2: the scope (admin implies all) and a matching grant."""
    return (scope in scopes or "admin" in scopes) and _sees(grants, ns)


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    template: str  # the route table's path
    build: Callable[[str, str], tuple[str, Any]]  # (namespace, tag) -> (path, body)


OPS = [
    Op(
        "ingest",
        "POST",
        "/v1/ingest",
        lambda ns, tag: ("/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": tag}),
    ),
    Op("list", "GET", "/v1/memories", lambda ns, tag: (f"/v1/memories?namespace={ns}&limit=200", None)),
    Op(
        "query_l1",
        "POST",
        "/v1/query",
        lambda ns, tag: ("/v1/query", {"namespace": ns, "session_id": "s", "query": "vault marker code"}),
    ),
    Op(
        "answer",
        "POST",
        "/v1/answer",
        lambda ns, tag: ("/v1/answer", {"namespace": ns, "question": "where is the vault code?"}),
    ),
    Op(
        "export",
        "GET",
        "/v1/namespaces/{namespace}/export",
        lambda ns, tag: (f"/v1/namespaces/{ns}/export", None),
    ),
    Op("policy_get", "GET", "/v1/policy", lambda ns, tag: (f"/v1/policy?namespace={ns}", None)),
    Op(
        "policy_put",
        "PUT",
        "/v1/policy",
        lambda ns, tag: (
            "/v1/policy",
            {"namespace": ns, "settings": {"l1_window_size": random.randint(20, 30)}},
        ),
    ),
    Op("ops_stats", "GET", "/v1/ops/stats", lambda ns, tag: (f"/v1/ops/stats?namespace={ns}", None)),
]


@dataclass
class Outcome:
    key: str
    ns: str
    op: Op
    tag: str
    allowed: bool
    status: int
    body: Any


@dataclass
class World:
    a: str
    b: str
    marks: dict[str, str]  # namespace -> a marker only that namespace's memories hold
    keys: dict[str, str]  # name -> plaintext
    key_ids: dict[str, str]  # name -> id
    grants: dict[str, tuple[list[str], list[str]]]

    @property
    def namespaces(self) -> list[str]:
        return [f"{self.a}-main", f"{self.b}-main"]


@pytest.fixture(scope="module")
def world(env: dict[str, Any], admin_key: str, db_conn_module: Any) -> World:
    sfx = uuid.uuid4().hex[:6]
    a, b = f"ca{sfx}", f"cb{sfx}"
    marks = {f"{a}-main": f"AMARK{uuid.uuid4().hex[:8]}", f"{b}-main": f"BMARK{uuid.uuid4().hex[:8]}"}
    admin = Api(admin_key)
    for ns, mark in marks.items():
        items = [
            {"session_id": "s", "role": "user", "text": f"the vault code {mark} is kept in the cellar"},
            {"session_id": "s", "role": "assistant", "text": f"noted: marker {mark} for the vault"},
        ]
        status, body, _ = admin.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
        assert status == 200, body
    grants = {
        name: (scopes, [g.format(a=a, b=b) for g in namespaces])
        for name, (scopes, namespaces) in GRANTS.items()
    }
    keys = {name: make_key(scopes, namespaces) for name, (scopes, namespaces) in grants.items()}
    key_ids = {
        name: str(
            db_conn_module.execute(
                "SELECT id FROM api_keys WHERE key_hash = %s", (auth.hash_key(k),)
            ).fetchone()["id"]
        )
        for name, k in keys.items()
    }
    return World(a, b, marks, keys, key_ids, grants)


@pytest.fixture(scope="module")
def db_conn_module(env: dict[str, Any]) -> Iterator[Any]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(env["pg_url"], row_factory=dict_row, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def outcomes(world: World) -> list[Outcome]:
    """Run the matrix once, concurrently, and keep every outcome for the assertions below."""
    cells = []
    for r in range(ROUNDS):
        for key in world.keys:
            for ns in world.namespaces:
                for op in OPS:
                    tag = f"W {world.a} {key} {ns} {op.name} {r} {uuid.uuid4().hex[:8]}"
                    scopes, grants = world.grants[key]
                    cells.append(
                        (
                            key,
                            ns,
                            op,
                            tag,
                            _grants_allow(scopes, grants, _scope_of(op.method, op.template), ns),
                        )
                    )
    random.Random(7).shuffle(cells)
    local = threading.local()
    # Switch threads far more often than the default 5 ms, so requests interleave inside handlers
    # (where shared request state would show) instead of mostly between them.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        return _run(world, cells, local)
    finally:
        sys.setswitchinterval(switch)


def _run(world: World, cells: list[tuple[str, str, Op, str, bool]], local: threading.local) -> list[Outcome]:
    with local_server() as server:

        def send(cell: tuple[str, str, Op, str, bool]) -> Outcome:
            key, ns, op, tag, allowed = cell
            if not hasattr(local, "client"):
                local.client = Client(server)
            path, body = op.build(ns, tag)
            status, out, headers = local.client.call(op.method, path, body, key=world.keys[key])
            assert headers.get("x-request-id")
            return Outcome(key, ns, op, tag, allowed, status, out)

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(send, cells))


def test_no_request_fails_with_a_5xx(outcomes: list[Outcome]):
    bad = [(o.key, o.ns, o.op.name, o.status, o.body) for o in outcomes if o.status >= 500]
    assert bad == []


def test_every_allowed_request_succeeds_no_wrong_401_or_403(outcomes: list[Outcome]):
    wrong = [
        (o.key, o.ns, o.op.name, o.status, o.body)
        for o in outcomes
        if o.allowed and not 200 <= o.status < 300
    ]
    assert wrong == []


def test_every_refused_request_is_403_or_404_in_the_error_shape(outcomes: list[Outcome]):
    refused = [o for o in outcomes if not o.allowed]
    assert refused, "the matrix must hold refused cells"
    wrong = [
        (o.key, o.ns, o.op.name, o.status)
        for o in refused
        if o.status not in (403, 404) or not is_error_shape(o.body)
    ]
    assert wrong == []


def test_no_success_body_holds_a_tenant_the_key_may_not_see(outcomes: list[Outcome], world: World):
    leaks = []
    for o in outcomes:
        if not 200 <= o.status < 300:
            continue
        grants = world.grants[o.key][1]
        text = o.body if isinstance(o.body, str) else json.dumps(o.body)
        for ns, mark in world.marks.items():
            if not _sees(grants, ns) and mark in text:
                leaks.append((o.key, o.ns, o.op.name, ns))
    assert leaks == []


def test_reads_return_the_named_namespace_l1_window_and_nothing_else(outcomes: list[Outcome], world: World):
    reads = [o for o in outcomes if o.op.name == "query_l1" and o.allowed]
    assert reads
    for o in reads:
        window = o.body["context_pack"]["l1_window"]
        text = json.dumps(window)
        assert world.marks[o.ns] in text, (o.key, o.ns)
        other = next(mark for ns, mark in world.marks.items() if ns != o.ns)
        assert other not in text, (o.key, o.ns)


def test_every_acknowledged_write_exists_once_where_it_was_sent_and_refused_ones_left_nothing(
    outcomes: list[Outcome], world: World, db_conn_module: Any
):
    rows = db_conn_module.execute(
        "SELECT id, namespace, text FROM memories WHERE namespace = ANY(%s) AND text LIKE %s",
        (world.namespaces, f"W {world.a} %"),
    ).fetchall()
    by_text: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_text.setdefault(row["text"], []).append(row)
    ingests = [o for o in outcomes if o.op.name == "ingest"]
    for o in ingests:
        found = by_text.pop(o.tag, [])
        if 200 <= o.status < 300:
            assert len(found) == 1, (o.tag, found)
            assert found[0]["namespace"] == o.ns
            assert str(found[0]["id"]) == o.body["memories"][0]["memory_id"]
        else:
            assert found == [], f"a refused write left rows: {o.tag}"
    assert by_text == {}, "rows no request of this test acknowledged"


def test_every_audited_write_was_made_by_a_key_allowed_to_make_it(world: World, db_conn_module: Any):
    names = {v: k for k, v in world.key_ids.items()}
    events = db_conn_module.execute(
        "SELECT action, namespace, actor FROM audit_events WHERE namespace = ANY(%s) AND actor = ANY(%s)",
        (world.namespaces, list(names)),
    ).fetchall()
    assert any(e["action"] == "ingest" for e in events) and any(
        e["action"] == "policy_change" for e in events
    )
    wrong = []
    for e in events:
        scopes, grants = world.grants[names[e["actor"]]]
        scope = (
            "admin"
            if e["action"] == "policy_change"
            else "memory:write"
            if e["action"] in WRITE_ACTIONS
            else None
        )
        if scope and not _grants_allow(scopes, grants, scope, e["namespace"]):
            wrong.append((names[e["actor"]], e["action"], e["namespace"]))
    assert wrong == []
