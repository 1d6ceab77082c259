"""Decay and TTL: set-based, batched, resumable; expired memories leave every read path."""

from __future__ import annotations

from memos.governance import policy_store
from memos.governance.decay import run_decay


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


def test_access_slows_decay(api, ns, db_conn):
    a, b = ingest(api, ns, ["topic alpha memo", "topic beta memo"])
    db_conn.execute("UPDATE memories SET access_count = 20 WHERE id = %s", (a,))
    age(db_conn, [a, b], 45)
    run_decay()
    imp = {
        r["id"]: r["importance"]
        for r in db_conn.execute(
            "SELECT id::text, importance FROM memories WHERE id = ANY(%s::uuid[])", ([a, b],)
        ).fetchall()
    }
    assert imp[a] > imp[b]


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


def test_a_run_out_of_time_resumes_from_its_cursor(api, ns, db_conn):
    ingest(api, ns, [f"note {i}" for i in range(30)])
    first = run_decay(batch_size=5, time_budget_s=0)  # no time: records its cursor, does nothing
    assert not first.finished
    second = run_decay(batch_size=5)
    assert second.finished and second.run_id == first.run_id
    run = db_conn.execute("SELECT status, scanned FROM decay_runs WHERE id = %s", (second.run_id,)).fetchone()
    assert run["status"] == "done" and run["scanned"] >= 30


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
