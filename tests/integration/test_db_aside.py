"""A read beside the request's own (``memos.store.db.aside``): a second connection when it is free,
never a wait behind another request's, and a failed read leaves the caller to read itself."""

from __future__ import annotations

import time

from memos.store import db


def test_a_read_aside_runs_on_another_backend_and_returns_its_connection_to_its_pool(api, monkeypatch):
    monkeypatch.setattr(db, "ASIDE_WAIT_S", 5.0)  # the aside connection may be opened first
    with db.connection() as conn:
        mine = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        got = db.aside(lambda c: c.execute("SELECT pg_backend_pid() AS pid, 41 + 1 AS n").fetchone())
        assert got is not None
        row = got.result(timeout=30)
    assert row["n"] == 42 and row["pid"] != mine
    _returned(db._aside_pool.get())


def _returned(pool):
    """Wait until every connection of ``pool`` is back in it (the thread gives it back just after
    the result); fails after 10 s."""
    deadline = time.monotonic() + 10
    while pool.get_stats().get("pool_available", 0) < pool.get_stats()["pool_size"]:
        assert time.monotonic() < deadline, pool.get_stats()
        time.sleep(0.01)


def test_a_failed_read_aside_gives_none_and_leaves_its_connection_usable(api, monkeypatch):
    monkeypatch.setattr(db, "ASIDE_WAIT_S", 5.0)
    with db.connection():
        got = db.aside(lambda c: c.execute("SELECT 1 / 0").fetchone())
        assert got is not None and got.result(timeout=30) is None
        _returned(db._aside_pool.get())
        again = db.aside(lambda c: c.execute("SELECT 7 AS n").fetchone())
        assert again is not None and again.result(timeout=30)["n"] == 7


def test_no_read_aside_while_another_request_holds_the_aside_connection(api, monkeypatch):
    monkeypatch.setattr(db, "ASIDE_WAIT_S", 5.0)
    pool = db._aside_pool.get()
    held = []
    try:
        while pool.get_stats().get("pool_size", 0) < pool.max_size or pool.get_stats().get("pool_available"):
            held.append(pool.getconn(timeout=5))
        assert db.aside(lambda c: c.execute("SELECT 1").fetchone()) is None  # at once, no wait
    finally:
        for conn in held:
            pool.putconn(conn)
    monkeypatch.setattr(db, "ASIDE_WAIT_S", 0.0)  # off: never a second connection
    assert db.aside(lambda c: c.execute("SELECT 1").fetchone()) is None
