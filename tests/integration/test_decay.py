"""Decay and TTL: set-based, batched, resumable; expired memories leave every read path."""

from __future__ import annotations

import pytest

from memos.governance import policy_store
from memos.governance.decay import run_decay
from memos.retrieval import feedback


def ingest(api, ns, texts, kind="episodic", session="s"):
    body = api.call(
        "POST",
        "/v1/ingest",
        {
            "namespace": ns,
            "items": [{"session_id": session, "role": "user", "text": t, "kind": kind} for t in texts],
        },
    )[1]
    return [m["memory_id"] for m in body["memories"]]


def age(db_conn, ids, days, column="created_at"):
    db_conn.execute(
        f"UPDATE memories SET {column} = {column} - make_interval(days => %s) WHERE id = ANY(%s::uuid[])",
        (days, ids),
    )


def test_idle_episodic_memories_decay_and_expire_while_facts_keep(api, ns, db_conn):
    old_turns = ingest(api, ns, ["we chatted about the old printer", "the printer jammed again"])
    fact = ingest(api, ns, ["Customer prefers invoices by post"], kind="semantic")
    fresh = ingest(api, ns, ["printer toner arrived today"])
    age(db_conn, old_turns + fact, 400)
    before = {
        r["id"]: r["importance"]
        for r in db_conn.execute(
            "SELECT id::text, importance FROM memories WHERE namespace = %s", (ns,)
        ).fetchall()
    }
    report = run_decay(batch_size=7)
    assert report.finished and report.batches >= 1
    rows = {
        r["id"]: r
        for r in db_conn.execute(
            "SELECT id::text, status, importance FROM memories WHERE namespace = %s", (ns,)
        ).fetchall()
    }
    assert all(rows[i]["status"] == "expired" for i in old_turns)
    assert rows[fact[0]]["status"] == "active" and rows[fact[0]]["importance"] == before[fact[0]]
    assert rows[fresh[0]]["status"] == "active"
    q = api.call("POST", "/v1/query", {"namespace": ns, "query": "printer", "top_k": 20, "session_id": "s"})[
        1
    ]
    returned = {r["memory_id"] for r in q["results"]} | {
        t["memory_id"] for t in q["context_pack"]["l1_window"]
    }
    assert returned.isdisjoint(old_turns) and fresh[0] in returned
    page = api.call("GET", f"/v1/memories?namespace={ns}")[1]
    assert {m["memory_id"] for m in page["memories"]}.isdisjoint(old_turns)
    assert all(i not in api.call("GET", f"/v1/namespaces/{ns}/export")[1] for i in old_turns)
    answer = api.call("POST", "/v1/answer", {"namespace": ns, "question": "What about the printer jam?"})[1]
    assert set(answer["citations"]).isdisjoint(old_turns)
    explained = api.call(
        "POST", "/v1/query", {"namespace": ns, "query": "printer", "include_filtered": True}
    )[1]
    assert {f["reason"] for f in explained["filtered"] if f["memory_id"] in old_turns} == {"expired"}
    expire = db_conn.execute(
        "SELECT details FROM audit_events WHERE namespace = %s AND action = 'expire'", (ns,)
    ).fetchall()
    assert sorted(i for e in expire for i in e["details"]["memory_ids"]) == sorted(old_turns)


def test_access_slows_decay_with_diminishing_returns(api, ns, db_conn):
    a, b, c = ingest(api, ns, ["topic alpha memo", "topic beta memo", "topic gamma memo"])
    db_conn.execute("UPDATE memories SET access_count = 20 WHERE id = %s", (a,))
    db_conn.execute("UPDATE memories SET access_count = 1 WHERE id = %s", (c,))
    age(db_conn, [a, b, c], 45)
    run_decay()
    imp = {m: api.call("GET", f"/v1/memories/{m}")[1]["importance"] for m in (a, b, c)}
    base = db_conn.execute("SELECT base_importance FROM memories WHERE id = %s", (b,)).fetchone()
    # 45 idle days at a 30-day half-life: 2^-1.5 of what the memory had after its last access
    assert imp[b] == pytest.approx(base["base_importance"] * 2**-1.5, abs=1e-3)
    assert imp[a] > imp[c] > imp[b]
    assert imp[a] - imp[c] < 20 * (imp[c] - imp[b])  # the 20th access is worth far less than the first
    forget_at = {
        r["id"]: r["forget_at"]
        for r in db_conn.execute(
            "SELECT id::text, forget_at FROM memories WHERE id = ANY(%s::uuid[])", ([a, b],)
        ).fetchall()
    }
    assert forget_at[a] > forget_at[b]  # and it is forgotten later
    stored = db_conn.execute(
        "SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[]) AND importance = base_importance",
        ([a, b, c],),
    ).fetchone()
    assert stored["n"] == 3  # decay rewrote nothing: the value is computed where it is read


def test_retrieval_touches_without_a_fixed_bonus(api, ns, db_conn):
    [m] = ingest(api, ns, ["the quarterly budget review is on friday"])
    before = api.call("GET", f"/v1/memories/{m}")[1]["importance"]
    for _ in range(15):
        q = api.call("POST", "/v1/query", {"namespace": ns, "query": "quarterly budget review"})[1]
        assert [r["memory_id"] for r in q["results"]][:1] == [m]
    feedback.apply()  # access feedback is applied after the answers, in batches
    after = api.call("GET", f"/v1/memories/{m}")[1]["importance"]
    row = db_conn.execute("SELECT access_count FROM memories WHERE id = %s", (m,)).fetchone()
    assert row["access_count"] == 15
    # 15 accesses close 15/25 of the gap to 0.9, not +0.02 each up to 1.0
    assert after == pytest.approx(before + (0.9 - before) * 15 / 25, abs=2e-3)
    assert after < 0.9


def test_policy_ttl_per_kind_expires_old_procedures(api, ns, db_conn):
    policy_store.put_policy(ns, {"ttl_days": {"procedural": 7}}, actor=None, request_id=None)
    [old] = ingest(api, ns, ["Always greet the user by name"], kind="procedural")
    [new] = ingest(api, ns, ["Use metric units"], kind="procedural")
    age(db_conn, [old], 8, column="occurred_at")  # a TTL counts from the event time
    age(db_conn, [new], 8, column="created_at")  # ingested long ago does not matter
    run_decay()
    status = {
        r["id"]: r["status"]
        for r in db_conn.execute(
            "SELECT id::text, status FROM memories WHERE namespace = %s", (ns,)
        ).fetchall()
    }
    assert status == {old: "expired", new: "active"}


def test_a_run_out_of_time_is_continued_by_the_next_run(api, ns, db_conn):
    ids = ingest(api, ns, [f"note {i}" for i in range(30)])
    age(db_conn, ids, 400)
    first = run_decay(batch_size=5, time_budget_s=0)  # no time: stays open, does nothing
    assert not first.finished and first.expired == 0
    second = run_decay(batch_size=5)
    assert second.finished and second.run_id == first.run_id
    run = db_conn.execute("SELECT status, expired FROM decay_runs WHERE id = %s", (second.run_id,)).fetchone()
    assert run["status"] == "done" and run["expired"] >= 30
    left = db_conn.execute(
        "SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[]) AND status = 'active'", (ids,)
    ).fetchone()
    assert left["n"] == 0


def test_decay_reads_only_what_is_due(api, ns, db_conn):
    ids = ingest(api, ns, [f"fresh remark {i}" for i in range(12)])
    report = run_decay()
    assert report.finished
    mine = db_conn.execute(
        "SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[]) AND forget_at <= now()", (ids,)
    ).fetchone()
    assert mine["n"] == 0  # fresh rows are planned into the future and not read by the job
    assert report.scanned == report.expired + report.decayed


def test_rows_from_before_the_forget_index_are_planned_then_kept_or_expired(api, ns, db_conn):
    keep, old = ingest(api, ns, ["an unplanned but recent remark", "an unplanned and ancient remark"])
    db_conn.execute(
        "UPDATE memories SET decay_half_life = NULL, decay_floor = NULL, ttl_days = NULL"
        " WHERE id = ANY(%s::uuid[])",
        ([keep, old],),
    )
    age(db_conn, [old], 400)
    run_decay()
    rows = {
        r["id"]: r
        for r in db_conn.execute(
            "SELECT id::text, status, decay_half_life, forget_at > now() AS later FROM memories"
            " WHERE id = ANY(%s::uuid[])",
            ([keep, old],),
        ).fetchall()
    }
    assert rows[keep]["status"] == "active" and rows[keep]["decay_half_life"] == 30.0 and rows[keep]["later"]
    assert rows[old]["status"] == "expired"


def test_a_policy_change_moves_the_namespace_forget_times(api, ns, db_conn):
    [m] = ingest(api, ns, ["a remark that should last"])
    age(db_conn, [m], 100)  # at a 30-day half-life it would be gone by now
    policy_store.put_policy(ns, {"decay_half_life_days": 365}, actor=None, request_id=None)
    run_decay()
    row = db_conn.execute("SELECT status, decay_half_life FROM memories WHERE id = %s", (m,)).fetchone()
    assert row["status"] == "active" and row["decay_half_life"] == 365
    policy_store.put_policy(ns, {"decay_half_life_days": 10}, actor=None, request_id=None)
    run_decay()
    assert (
        db_conn.execute("SELECT status FROM memories WHERE id = %s", (m,)).fetchone()["status"] == "expired"
    )


def test_the_local_timer_invokes_the_decay_handler_with_a_scheduled_event(api, ns, db_conn):
    from infra.local.workers import DecayTimer

    [old] = ingest(api, ns, ["a stale remark about lunch"])
    age(db_conn, [old], 400)
    result = DecayTimer(interval_s=3600).run_once()
    assert result["finished"] is True and result["scanned"] >= 1
    assert (
        db_conn.execute("SELECT status FROM memories WHERE id = %s", (old,)).fetchone()["status"] == "expired"
    )


def test_ttl_counts_from_occurred_at_so_an_old_event_is_expired_at_once(api, ns, db_conn):
    policy_store.put_policy(ns, {"ttl_days": {"episodic": 1}}, actor=None, request_id=None)
    status, body, _ = api.call(
        "POST",
        "/v1/ingest",
        {
            "namespace": ns,
            "session_id": "s",
            "role": "user",
            "text": "the conference dinner was at the harbour",
            "occurred_at": "2025-01-10T19:00:00+00:00",
        },
    )
    mid = body["memories"][0]["memory_id"]
    assert status == 200
    for method, path, payload in (
        ("GET", f"/v1/memories/{mid}", None),
        ("GET", f"/v1/memories/{mid}/history", None),
        ("PATCH", f"/v1/memories/{mid}", {"importance": 0.9}),
    ):
        assert api.call(method, path, payload)[0] == 404, (method, path)
    run_decay()
    row = db_conn.execute("SELECT status, text FROM memories WHERE id = %s", (mid,)).fetchone()
    assert row["status"] == "expired" and row["text"] == ""
    assert api.call("GET", f"/v1/memories/{mid}")[0] == 404


def test_ttl_from_ingested_at_counts_from_ingestion(api, ns, db_conn):
    policy_store.put_policy(
        ns, {"ttl_days": {"episodic": 1}, "ttl_from": "ingested_at"}, actor=None, request_id=None
    )
    status, body, _ = api.call(
        "POST",
        "/v1/ingest",
        {
            "namespace": ns,
            "session_id": "s",
            "role": "user",
            "text": "the conference dinner was at the harbour",
            "occurred_at": "2025-01-10T19:00:00+00:00",
        },
    )
    mid = body["memories"][0]["memory_id"]
    assert status == 200
    run_decay()
    assert api.call("GET", f"/v1/memories/{mid}")[0] == 200
    db_conn.execute(
        "UPDATE memories SET created_at = created_at - interval '2 days',"
        " expires_at = expires_at - interval '2 days' WHERE id = %s",
        (mid,),
    )
    run_decay()
    assert (
        db_conn.execute("SELECT status FROM memories WHERE id = %s", (mid,)).fetchone()["status"] == "expired"
    )


def test_the_sql_forget_time_matches_the_python_formula(db_conn):
    from datetime import UTC, datetime, timedelta

    from memos.memory.importance import forget_after_days

    since = datetime(2026, 1, 1, tzinfo=UTC)
    for base, count, half_life, floor in ((0.5, 0, 30.0, 0.05), (0.3, 7, 10.0, 0.1), (0.95, 40, 90.0, 0.2)):
        row = db_conn.execute(
            "SELECT memos_forget_at(%s::real, %s, %s, NULL, %s, NULL, %s::real, %s::real, NULL, false) AS at",
            (base, count, since, since, half_life, floor),
        ).fetchone()
        days = forget_after_days(base, count, half_life, floor)
        assert days is not None
        assert abs((row["at"] - since) - timedelta(days=days)) < timedelta(minutes=5), (base, count)
    never = db_conn.execute(
        "SELECT memos_forget_at(0.5::real, 0, now(), NULL, now(), NULL, 30::real, NULL, NULL, false) AS at"
    ).fetchone()
    assert never["at"] is None  # a kind that does not decay, with no TTL, is never due


def test_a_memory_that_is_never_due_can_be_edited_and_deleted(api, ns, db_conn):
    [fact] = ingest(api, ns, ["Customer prefers invoices by post"], kind="semantic")
    row = db_conn.execute("SELECT forget_at FROM memories WHERE id = %s", (fact,)).fetchone()
    assert row["forget_at"] is None  # facts keep (no decay, no TTL by default)
    assert api.call("PATCH", f"/v1/memories/{fact}", {"importance": 0.9})[0] == 200
    assert api.call("GET", f"/v1/memories/{fact}")[1]["importance"] == 0.9
    assert api.call("DELETE", f"/v1/memories/{fact}")[0] == 204


def _body_of_0007() -> str:
    """Migration 0007's ``memos_forget_at``, renamed into this session's temporary schema."""
    import re
    from importlib import resources

    sql = resources.files("memos.store.migrations").joinpath("0007_forget_at.sql").read_text()
    body = re.search(r"CREATE FUNCTION memos_forget_at\(.*?\$\$;", sql, re.S)
    assert body is not None
    return body.group(0).replace(
        "CREATE FUNCTION memos_forget_at(", "CREATE FUNCTION pg_temp.forget_at_0007("
    )


def test_the_forget_time_of_migration_16_is_the_one_of_migration_7_to_the_microsecond(db_conn):
    """0016 rewrote ``memos_forget_at`` to be inlinable: every branch (no half-life; TTL from ingestion
    or from the event; no floor, a zero floor, a floor; accesses, a base at the ceiling; a last
    access; an earlier expiry; times before 1970 and with microseconds) gives the same instant."""
    db_conn.execute(_body_of_0007())
    rows = db_conn.execute(
        """
        WITH args AS (
          SELECT b::real AS base, n AS access_count, c AS created_at, l AS last_accessed_at,
                 o AS occurred_at, x AS expires_at, h::real AS half_life, f::real AS floor, t AS ttl_days,
                 i AS ttl_from_ingest
          FROM unnest(ARRAY[0.05, 0.5, 0.95]) b, unnest(ARRAY[0, 3, 250]) n,
               unnest(ARRAY['2026-12-07 22:13:05.123457+00', '1969-07-20 20:17:40.5+00']::timestamptz[]) c,
               unnest(ARRAY[NULL, '2027-01-02 03:04:05.000001+00']::timestamptz[]) l,
               unnest(ARRAY['2026-11-30 08:00:00+00', '1960-02-29 12:00:00.25+00']::timestamptz[]) o,
               unnest(ARRAY[NULL, '2027-06-01 00:00:00+00']::timestamptz[]) x,
               unnest(ARRAY[NULL, 0.5, 30, 365]) h, unnest(ARRAY[NULL, 0, 0.05, 0.4]) f,
               unnest(ARRAY[NULL, 1, 30, 3650]) t, unnest(ARRAY[false, true]) i
        )
        SELECT count(*) AS n,
               count(*) FILTER (WHERE memos_forget_at(base, access_count, created_at, last_accessed_at,
                 occurred_at, expires_at, half_life, floor, ttl_days, ttl_from_ingest)
                 IS DISTINCT FROM pg_temp.forget_at_0007(base, access_count, created_at, last_accessed_at,
                 occurred_at, expires_at, half_life, floor, ttl_days, ttl_from_ingest)) AS differ,
               count(*) FILTER (WHERE memos_forget_at(base, access_count, created_at, last_accessed_at,
                 occurred_at, expires_at, half_life, floor, ttl_days, ttl_from_ingest) IS NULL) AS never
        FROM args
        """
    ).fetchone()
    assert rows["n"] == 3 * 3 * 2 * 2 * 2 * 2 * 4 * 4 * 4 * 2
    assert rows["differ"] == 0
    assert 0 < rows["never"] < rows["n"]  # both kinds of rows were compared, due and never due


def test_the_forget_time_is_inlined_into_the_statements_that_write_memories(db_conn):
    """Inlined, the function is an expression of the row: no SQL function call (and no parse of its
    body) left in a plan, as in the INSERT's generated ``forget_at``."""
    plan = db_conn.execute(
        "EXPLAIN VERBOSE SELECT memos_forget_at(base_importance, access_count, created_at, last_accessed_at,"
        " occurred_at, expires_at, decay_half_life, decay_floor, ttl_days, ttl_from_ingest) FROM memories"
    ).fetchall()
    text = "\n".join(r["QUERY PLAN"] for r in plan)
    assert "memos_forget_at" not in text and "memos_reinforced" not in text
    assert "AT TIME ZONE 'UTC'" in text
