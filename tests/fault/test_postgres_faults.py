"""PostgreSQL stopped and restarted under the API (an embedded server of this test's own).

While it is down every request that needs it answers 503 in the error shape; once it is back
the API works again without a restart of the process. Every acknowledged write is in L2
exactly once, and nothing crosses into another namespace.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from infra.local.services import EmbeddedPostgres, wait_for_postgres
from memos.kernel.config import get_settings
from memos.store.migrate import apply_migrations
from tests.conftest import Api, make_key
from tests.services import env_override


class Postgres:
    def __init__(self, base: Path) -> None:
        self.data_dir = base / "pg"
        self.pg = EmbeddedPostgres(self.data_dir)
        self.url = self.pg.start()
        wait_for_postgres(self.url)

    def stop(self) -> None:
        self.pg.stop()

    def restart(self) -> None:
        self.pg = EmbeddedPostgres(self.data_dir)
        assert self.pg.start() == self.url
        wait_for_postgres(self.url)

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, row_factory=dict_row, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def own_pg(env) -> Iterator[tuple[Postgres, Api]]:
    base = Path(tempfile.mkdtemp(prefix="memos-fault-pg-"))
    base.chmod(0o755)  # the embedded server may run as its own system user
    pg = Postgres(base)
    try:
        apply_migrations(pg.url, get_settings().embed_dim)
        with env_override(MEMOS_DATABASE_URL=pg.url, MEMOS_DB_CONNECT_TIMEOUT_S="1"):
            yield pg, Api(make_key(["admin"], ["*"]))
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def ingest(api: Api, ns: str, text: str) -> tuple[int, Any]:
    status, body, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": text}
    )
    return status, body


def test_requests_while_postgres_is_down_are_503_and_it_works_again_after_a_restart(own_pg, ns):
    pg, api = own_pg
    other = f"t-other-{uuid.uuid4().hex[:8]}"
    acked = {ns: [], other: []}
    for space in (ns, other):
        status, body = ingest(api, space, f"before the outage in {space}")
        assert status == 200
        acked[space].append(body["memories"][0]["memory_id"])
    pg.stop()
    for method, path, body in [
        ("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "while down"}),
        ("POST", "/v1/query", {"namespace": ns, "query": "outage"}),
        ("GET", f"/v1/memories?namespace={ns}", None),
        ("POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "s", "confirm": True}),
    ]:
        status, err, headers = api.call(method, path, body)
        assert status == 503, (path, err)
        assert err["error"]["code"] == "dependency_unavailable" and headers["x-request-id"]
    status, health, _ = api.call("GET", "/v1/health", key=None)
    assert status == 503 and health["dependencies"]["postgres"]["status"] == "down"
    pg.restart()
    status, body = ingest(api, ns, "after the outage")  # the first request after the restart works
    assert status == 200, body
    acked[ns].append(body["memories"][0]["memory_id"])
    status, q, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "outage", "session_id": "s"})
    assert status == 200
    assert {r["memory_id"] for r in q["results"]} <= set(acked[ns])
    assert [t["text"] for t in q["context_pack"]["l1_window"]] == [
        f"before the outage in {ns}",
        "after the outage",
    ]
    for space, ids in acked.items():
        rows = pg.rows("SELECT id::text AS id FROM memories WHERE namespace = %s", space)
        assert sorted(r["id"] for r in rows) == sorted(ids)  # the refused write is not there
    assert not pg.rows("SELECT 1 FROM memories WHERE text = 'while down'")


def test_postgres_stopped_and_restarted_during_a_stream_of_ingests_keeps_every_acknowledged_write(own_pg, ns):
    pg, api = own_pg
    acked: list[tuple[str, str]] = []
    refused: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set() and i < 2000:
            text = f"turn {i} of the stream"
            status, body = ingest(api, ns, text)
            if status == 200:
                acked.append((body["memories"][0]["memory_id"], text))
            else:
                assert body["error"]["code"] == "dependency_unavailable"
                refused.append(status)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(acked) < 5 and thread.is_alive():
            stop.wait(0.01)
        pg.stop()
        while not refused and thread.is_alive():
            stop.wait(0.01)
        pg.restart()
        seen = len(acked)
        while len(acked) < seen + 5 and thread.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert set(refused) == {503}
    rows = pg.rows("SELECT id::text AS id, text FROM memories WHERE namespace = %s", ns)
    stored = [(r["id"], r["text"]) for r in rows]
    assert len({i for i, _ in stored}) == len(stored)
    for memory_id, text in acked:  # every acknowledged write, exactly once, with its own text
        assert [t for i, t in stored if i == memory_id] == [text]
    assert len([t for _, t in stored if t in {t for _, t in acked}]) == len(acked)
