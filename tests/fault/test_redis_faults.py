"""Redis killed, paused (SIGSTOP/SIGCONT) and restarted during ingest and during deletes.

Each test runs against its own redis-server child process. L2 (PostgreSQL) is the truth: every
acknowledged write is in L2 exactly once, the L1 window never serves a gap or a deleted turn, a
delete that committed in L2 answers success, and nothing crosses into another namespace.
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from collections.abc import Iterator

import pytest
import redis

from infra.local.services import RedisProcess
from memos import working_memory
from memos.memory import l1_cleanup
from tests.services import env_override


class Redis:
    """A private redis-server the test can pause, kill and bring back on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is required for the fault tier"
        self.proc = RedisProcess(binary)
        self.url = self.proc.start()
        self.paused = False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)

    def pause(self) -> None:
        assert self.proc.proc is not None
        os.kill(self.proc.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.proc.proc is not None
        os.kill(self.proc.proc.pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        assert self.proc.proc is not None
        self.proc.proc.kill()
        self.proc.proc.wait(10)
        self.proc.proc = None

    def restart(self) -> None:
        self.proc.start()  # same port: clients reconnect to an empty Redis

    def stop(self) -> None:
        if self.paused:
            self.resume()
        self.proc.stop()


@pytest.fixture
def rds(env) -> Iterator[Redis]:
    server = Redis()
    try:
        with env_override(MEMOS_REDIS_URL=server.url, MEMOS_REDIS_TIMEOUT_S="0.3"):
            yield server
    finally:
        server.stop()


def turns(api, ns, texts, session="s") -> list[str]:
    """Ingest one turn per request; return the acknowledged memory ids."""
    ids = []
    for text in texts:
        status, body, _ = api.call(
            "POST", "/v1/ingest", {"namespace": ns, "session_id": session, "role": "user", "text": text}
        )
        assert status == 200, body
        assert body["memories"][0]["status"] == "created"
        ids.append(body["memories"][0]["memory_id"])
    return ids


def window_texts(api, ns, session="s") -> list[str]:
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "step", "session_id": session})
    assert status == 200, body
    return [t["text"] for t in body["context_pack"]["l1_window"]]


def assert_exactly_once_in_l2(db_conn, ns, ids: list[str]) -> None:
    rows = db_conn.execute(
        "SELECT id::text AS id, namespace FROM memories WHERE namespace = %s", (ns,)
    ).fetchall()
    assert sorted(r["id"] for r in rows) == sorted(ids)


def redis_dump(rds: Redis) -> str:
    c = rds.client()
    out = []
    for key in c.scan_iter("memos:l1:*"):
        kind = c.type(key)
        out.append(key + " " + " ".join(c.lrange(key, 0, -1) if kind == "list" else c.zrange(key, 0, -1)))
    return "\n".join(out)


def other_tenant(api) -> tuple[str, list[str]]:
    other = f"t-other-{uuid.uuid4().hex[:8]}"
    return other, turns(api, other, ["other tenant step one", "other tenant step two"])


def test_turns_acknowledged_while_redis_was_paused_are_in_the_window_afterwards(api, ns, db_conn, rds):
    other, other_ids = other_tenant(api)
    ids = turns(api, ns, ["step 1", "step 2", "step 3"])
    assert window_texts(api, ns) == ["step 1", "step 2", "step 3"]
    rds.pause()
    ids += turns(api, ns, ["step 4", "step 5"])  # acknowledged: L2 committed, the L1 push timed out
    assert window_texts(api, ns) == [f"step {i}" for i in range(1, 6)]  # from L2 while paused
    rds.resume()
    ids += turns(api, ns, ["step 6"])  # appended to the old window, behind a gap of two turns
    assert window_texts(api, ns) == [f"step {i}" for i in range(1, 7)]
    cached = rds.client().lrange(working_memory.window_key(ns, "s"), 0, -1)
    assert len(cached) == 6  # rebuilt whole, not left with the gap
    assert_exactly_once_in_l2(db_conn, ns, ids)
    assert_exactly_once_in_l2(db_conn, other, other_ids)
    assert window_texts(api, other) == ["other tenant step one", "other tenant step two"]


def test_redis_killed_and_restarted_during_ingest_loses_no_turn(api, ns, db_conn, rds):
    ids = turns(api, ns, ["step 1", "step 2"])
    rds.kill()
    ids += turns(api, ns, ["step 3", "step 4"])
    assert window_texts(api, ns) == ["step 1", "step 2", "step 3", "step 4"]
    rds.restart()
    ids += turns(api, ns, ["step 5"])
    assert window_texts(api, ns) == [f"step {i}" for i in range(1, 6)]
    assert rds.client().llen(working_memory.window_key(ns, "s")) == 5
    assert_exactly_once_in_l2(db_conn, ns, ids)


def test_a_session_reset_while_redis_is_paused_succeeds_and_its_window_is_dropped_later(
    api, ns, db_conn, rds
):
    other, other_ids = other_tenant(api)
    turns(api, ns, ["step secret-alpha", "step secret-beta"])
    assert "secret-alpha" in redis_dump(rds)
    rds.pause()
    status, body, _ = api.call(
        "POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "s", "confirm": True}
    )
    assert status == 200, body  # L2 committed: success, not 503
    assert body["counts"]["memories"] == 2
    assert window_texts(api, ns) == []  # served from L2 while Redis hangs
    pending = db_conn.execute("SELECT session_id FROM l1_cleanups WHERE namespace = %s", (ns,)).fetchall()
    assert [r["session_id"] for r in pending] == ["s"]
    rds.resume()
    assert "secret-alpha" in redis_dump(rds)  # the window outlived the delete, for now
    assert window_texts(api, ns) == []  # but a read never serves it: L2 has no such turns
    l1_cleanup.drain()
    assert (
        db_conn.execute("SELECT count(*) AS n FROM l1_cleanups WHERE namespace = %s", (ns,)).fetchone()["n"]
        == 0
    )
    assert "secret-" not in redis_dump(rds)
    assert_exactly_once_in_l2(db_conn, ns, [])
    assert_exactly_once_in_l2(db_conn, other, other_ids)
    assert window_texts(api, other) == ["other tenant step one", "other tenant step two"]


def test_a_namespace_delete_while_redis_is_paused_succeeds_and_the_drain_clears_every_window(
    api, ns, db_conn, rds
):
    other, other_ids = other_tenant(api)
    for session in ("a", "b", "c"):
        turns(api, ns, [f"step private-{session}"], session=session)
    rds.pause()
    status, body, _ = api.call("DELETE", f"/v1/namespaces/{ns}")
    assert status == 200, body
    assert body["deleted"]["memories"] == 3
    rds.resume()
    assert "private-a" in redis_dump(rds)
    l1_cleanup.drain()
    assert not db_conn.execute("SELECT 1 FROM l1_cleanups WHERE namespace = %s", (ns,)).fetchall()
    dump = redis_dump(rds)
    assert "private-" not in dump and ns not in dump
    assert "other tenant step one" in dump  # the other tenant's window was not touched
    assert_exactly_once_in_l2(db_conn, ns, [])
    assert_exactly_once_in_l2(db_conn, other, other_ids)


def test_a_reset_while_redis_is_down_then_restarted_succeeds_and_leaves_nothing_pending(
    api, ns, db_conn, rds
):
    ids = turns(api, ns, ["step kept", "step doomed"], session="doomed")
    keep = turns(api, ns, ["step kept elsewhere"], session="kept")
    rds.kill()
    status, body, _ = api.call(
        "POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "doomed", "confirm": True}
    )
    assert status == 200 and body["counts"]["memories"] == len(ids)
    rds.restart()
    l1_cleanup.drain()
    assert (
        db_conn.execute("SELECT count(*) AS n FROM l1_cleanups WHERE namespace = %s", (ns,)).fetchone()["n"]
        == 0
    )
    assert window_texts(api, ns, "doomed") == []
    assert window_texts(api, ns, "kept") == ["step kept elsewhere"]
    assert_exactly_once_in_l2(db_conn, ns, keep)
