"""The local server with two instance processes (``memos dev --instances 2``): batches in flight at
once, as two Lambda instances would run them.

Asserted, with requests sent from several threads at once: every batch is answered 200; two batches
into the same session get distinct turn numbers, each batch's in its item order; every acknowledged
memory exists exactly once in PostgreSQL; the requests ran in two processes other than the test's;
a streaming route's events still arrive through an instance; a killed instance is replaced.
"""

from __future__ import annotations

import http.client
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import make_key
from tests.fault.local_http import Client

CLIENTS = 4
BATCHES = 3
ITEMS = 20


@pytest.fixture(scope="module")
def server(env: dict[str, Any]) -> Iterator[Any]:
    from infra.local.server import LocalServer

    srv = LocalServer("127.0.0.1", 0, instances=2)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_two_instances_are_two_processes_besides_this_one(server: Any) -> None:
    assert server.instances is not None
    pids = server.instances.pids
    assert len(set(pids)) == 2 and os.getpid() not in pids


def test_batches_in_flight_at_once_get_ordered_turns_and_are_stored_exactly_once(
    server: Any, db_conn: Any
) -> None:
    ns = f"inst-{uuid.uuid4().hex[:8]}"
    key = make_key(["memory:write", "memory:read"], [ns])

    def batches(client_no: int) -> list[tuple[int, list[str], list[dict[str, Any]]]]:
        client = Client(server)
        out = []
        try:
            for b in range(BATCHES):
                # Half of each batch into the session every client writes, half into the client's own.
                items = [
                    {
                        "session_id": "shared" if i % 2 == 0 else f"own-{client_no}",
                        "role": "user",
                        "text": f"client {client_no} batch {b} item {i}: note {uuid.uuid4().hex}",
                    }
                    for i in range(ITEMS)
                ]
                status, body, _ = client.call(
                    "POST", "/v1/ingest", {"namespace": ns, "items": items}, key=key
                )
                out.append((status, [m["memory_id"] for m in body["memories"]], items))
        finally:
            client.close()
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rs in pool.map(batches, range(CLIENTS)) for r in rs]

    assert [status for status, _, _ in results] == [200] * CLIENTS * BATCHES
    acknowledged = [mid for _, ids, _ in results for mid in ids]
    assert len(set(acknowledged)) == CLIENTS * BATCHES * ITEMS  # every item a new memory
    rows = db_conn.execute(
        "SELECT id::text AS id, session_id, turn_no, text FROM memories WHERE namespace = %s", (ns,)
    ).fetchall()
    assert sorted(r["id"] for r in rows) == sorted(acknowledged)  # each exactly once, nothing else
    by_id = {r["id"]: r for r in rows}
    for session in ["shared"] + [f"own-{c}" for c in range(CLIENTS)]:
        turns = sorted(r["turn_no"] for r in rows if r["session_id"] == session)
        assert turns == list(range(1, len(turns) + 1))  # distinct, none skipped
    for _, ids, items in results:  # each batch's turns in a session follow its item order
        for session in {it["session_id"] for it in items}:
            mine = [
                by_id[mid]["turn_no"]
                for mid, it in zip(ids, items, strict=True)
                if it["session_id"] == session
            ]
            assert mine == sorted(mine) and mine == list(range(mine[0], mine[0] + len(mine)))


def test_a_streaming_answer_arrives_through_an_instance(server: Any) -> None:
    ns = f"inst-{uuid.uuid4().hex[:8]}"
    key = make_key(["memory:write", "memory:read"], [ns])
    client = Client(server)
    try:
        item = {"namespace": ns, "session_id": "s", "role": "user", "text": "We moved to Lisbon in 2021."}
        assert client.call("POST", "/v1/ingest", item, key=key)[0] == 200
    finally:
        client.close()
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(
            "POST",
            "/v1/answer/stream",
            body=f'{{"namespace": "{ns}", "question": "Where did we move?"}}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        resp = conn.getresponse()
        text = resp.read().decode()
    finally:
        conn.close()
    assert resp.status == 200
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    assert "event: context" in text and "event: done" in text


def test_a_killed_instance_is_replaced_and_requests_go_on(env: dict[str, Any]) -> None:
    import signal

    from infra.local.server import LocalServer

    srv = LocalServer("127.0.0.1", 0, instances=2)
    srv.start()
    try:
        assert srv.instances is not None
        before = srv.instances.pids
        os.kill(before[0], signal.SIGKILL)
        client = Client(srv)  # reconnects once when the server drops a connection
        try:
            statuses = [client.call("GET", "/v1/health")[0] for _ in range(4)]
        finally:
            client.close()
        assert statuses == [200] * 4
        after = srv.instances.pids
        assert len(after) == 2 and before[0] not in after and before[1] in after
    finally:
        srv.stop()
