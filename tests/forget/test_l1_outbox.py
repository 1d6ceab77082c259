"""With Redis unreachable, a forget still completes (L2 is the truth) and queues the session's L1
window; the background retry (run by the decay job) clears it once Redis answers."""

from __future__ import annotations

import redis

from infra.local.services import free_port
from memos import working_memory
from memos.governance.decay import run_decay
from memos.memory import l1_cleanup
from tests.services import env_override


def _window(env, ns, session="s"):
    return redis.Redis.from_url(env["redis_url"]).lrange(working_memory.window_key(ns, session), 0, -1)


def _queued(db_conn, ns):
    rows = db_conn.execute("SELECT session_id FROM l1_cleanups WHERE namespace = %s", (ns,)).fetchall()
    return sorted(r["session_id"] for r in rows)


def _ingest(api, ns, text, session="s"):
    status, body, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": session, "role": "user", "text": text}
    )
    assert status == 200
    return body["memories"][0]["memory_id"]


def test_delete_with_redis_down_is_done_and_the_window_is_cleared_later(api, ns, env, db_conn):
    mid = _ingest(api, ns, "the spare key is under the blue flowerpot")
    assert any(b"flowerpot" in v for v in _window(env, ns))
    with env_override(MEMOS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        assert api.call("DELETE", f"/v1/memories/{mid}")[0] == 204
    assert _queued(db_conn, ns) == ["s"]
    assert any(b"flowerpot" in v for v in _window(env, ns))  # Redis missed it while down
    run_decay()  # the scheduled job drains the queue
    assert _window(env, ns) == [] and _queued(db_conn, ns) == []


def test_reset_and_namespace_delete_with_redis_down_answer_done_and_queue_the_windows(api, ns, env, db_conn):
    _ingest(api, ns, "reset me: the locker combination is 3-1-4", session="r")
    _ingest(api, ns, "namespace delete me: the attic ladder is broken", session="n")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with env_override(MEMOS_REDIS_URL=dead):
        body = {"namespace": ns, "session_id": "r", "confirm": True}
        assert api.call("POST", "/v1/sessions/reset", body)[0] == 200
        assert api.call("DELETE", f"/v1/namespaces/{ns}")[0] == 200
    assert _queued(db_conn, ns) == ["n", "r"]
    l1_cleanup.drain()
    assert _window(env, ns, "r") == [] and _window(env, ns, "n") == [] and _queued(db_conn, ns) == []
