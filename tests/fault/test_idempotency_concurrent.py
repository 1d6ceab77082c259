"""Idempotent writes from several callers in one process: each (caller, Idempotency-Key) runs its
own request once, under its own identity, and a replay gets that request's answer back.

The first requests of a process used to pin the idempotency wrapper, so later callers' writes
re-ran the first closure: answered "duplicate" with another tenant's memory id, stored nothing.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from functions.api_memory.handler import handler as memory_handler
from infra.local.server import lambda_context
from memos.access.auth import Identity
from tests.conftest import make_key
from tests.fault.local_http import Client, is_error_shape, local_server

TENANTS = 4
WRITES_PER_TENANT = 24
THREADS = 8


@dataclass(frozen=True)
class Write:
    tenant: int
    ns: str
    key: str  # the caller's API key
    idem: str  # the Idempotency-Key
    text: str

    def body(self) -> dict[str, Any]:
        return {"namespace": self.ns, "session_id": "s", "role": "user", "text": self.text}


@pytest.fixture(scope="module")
def server(env: dict[str, Any]) -> Iterator[Any]:
    with local_server() as srv:
        yield srv


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads interleave inside handlers rather than mostly between requests."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(switch)


def _send_all(server: Any, writes: list[Write], body_of: Any = None) -> list[tuple[int, Any]]:
    local = threading.local()

    def send(w: Write) -> tuple[int, Any]:
        if not hasattr(local, "client"):
            local.client = Client(server)
        body = body_of(w) if body_of else w.body()
        status, out, _ = local.client.call(
            "POST", "/v1/ingest", body, key=w.key, headers={"Idempotency-Key": w.idem}
        )
        return status, out

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, writes))


def _rows(db_conn: Any, marker: str) -> list[dict[str, Any]]:
    return db_conn.execute(
        "SELECT id, namespace, text FROM memories WHERE text LIKE %s", (f"%{marker}%",)
    ).fetchall()


def test_many_idempotent_writes_from_several_tenants_each_land_once_in_their_own_namespace(
    server: Any, db_conn: Any, fast_switching: None
):
    marker = f"IDEM{uuid.uuid4().hex[:8]}"
    tenants = [(f"idem{uuid.uuid4().hex[:6]}-{t}", t) for t in range(TENANTS)]
    keys = {t: make_key(["memory:write", "memory:read"], [ns]) for ns, t in tenants}
    writes = [
        Write(
            t,
            ns,
            keys[t],
            # Half the Idempotency-Keys are the same string for every tenant: the record is per caller.
            f"shared-{marker}-{i}" if i % 2 else str(uuid.uuid4()),
            f"{marker} tenant {t} write {i}: remember {uuid.uuid4().hex}",
        )
        for ns, t in tenants
        for i in range(WRITES_PER_TENANT)
    ]
    first = _send_all(server, writes)
    assert [s for s, _ in first if s != 200] == [], [b for s, b in first if s != 200][:3]
    statuses = [b["memories"][0]["status"] for _, b in first]
    assert statuses == ["created"] * len(writes)
    ids = [b["memories"][0]["memory_id"] for _, b in first]
    assert len(set(ids)) == len(writes), "two writes were answered with the same memory"

    replays = _send_all(server, list(reversed(writes)))
    assert [(s, b["memories"][0]["memory_id"]) for s, b in reversed(replays)] == [(200, i) for i in ids]

    rows = {str(r["id"]): r for r in _rows(db_conn, marker)}
    assert len(rows) == len(writes), "every acknowledged write exists exactly once"
    for w, memory_id in zip(writes, ids, strict=True):
        assert rows[memory_id]["namespace"] == w.ns and rows[memory_id]["text"] == w.text
    per_ns = {ns: sum(1 for r in rows.values() if r["namespace"] == ns) for ns, _ in tenants}
    assert per_ns == {ns: WRITES_PER_TENANT for ns, _ in tenants}
    dedups = db_conn.execute(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'dedup' AND namespace = ANY(%s)",
        ([ns for ns, _ in tenants],),
    ).fetchone()
    assert dedups["n"] == 0, "no write was taken for another's duplicate"


def test_reusing_an_idempotency_key_with_another_body_is_409_and_stores_nothing(server: Any, db_conn: Any):
    marker = f"IDEM{uuid.uuid4().hex[:8]}"
    ns = f"idem{uuid.uuid4().hex[:6]}"
    w = Write(0, ns, make_key(["memory:write"], [ns]), str(uuid.uuid4()), f"{marker} original")
    assert _send_all(server, [w])[0][0] == 200
    changed = _send_all(server, [w], body_of=lambda w: {**w.body(), "text": f"{marker} changed"})
    status, body = changed[0]
    assert status == 409 and is_error_shape(body)
    assert [r["text"] for r in _rows(db_conn, marker)] == [f"{marker} original"]


def _event(who: Identity, body: dict[str, Any], idem: str) -> dict[str, Any]:
    return {
        "resource": "/v1/ingest",
        "path": "/v1/ingest",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "Idempotency-Key": idem},
        "requestContext": {"requestId": str(uuid.uuid4()), "authorizer": who.to_context()},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def test_a_warm_lambda_runs_each_invocation_own_write(env: dict[str, Any], db_conn: Any):
    """The cloud shape: one handler module, invoked one event after another with different callers."""
    marker = f"IDEM{uuid.uuid4().hex[:8]}"
    answers = []
    for t in range(3):
        ns = f"warm{uuid.uuid4().hex[:6]}"
        who = Identity(str(uuid.uuid4()), frozenset({"memory:write"}), (ns,))
        body = {"namespace": ns, "session_id": "s", "role": "user", "text": f"{marker} tenant {t}"}
        resp = memory_handler(_event(who, body, "same-key-for-everyone"), lambda_context("api_memory"))
        assert resp["statusCode"] == 200, resp
        out = json.loads(resp["body"])["memories"][0]
        assert out["status"] == "created"
        answers.append((ns, out["memory_id"]))
    rows = {str(r["id"]): r["namespace"] for r in _rows(db_conn, marker)}
    assert rows == {mid: ns for ns, mid in answers}
