"""Dedup and conflicts at ingest: nothing is deleted, everything is linked, kept in history and audited."""

from __future__ import annotations

from memos.governance import policy_store


def ingest(api, ns, text, kind="episodic", session="s"):
    status, body, _ = api.call(
        "POST",
        "/v1/ingest",
        {"namespace": ns, "session_id": session, "role": "user", "text": text, "kind": kind},
    )
    assert status == 200, body
    return body["memories"][0]


def test_a_near_duplicate_turn_is_stored_linked_and_kept_out_of_retrieval(api, ns, db_conn):
    first = ingest(api, ns, "The deployment pipeline failed on the integration tests step")
    # Punctuation makes a different exact hash, but the same words: a near duplicate.
    near = ingest(api, ns, "The deployment pipeline failed on the integration tests step!!")
    assert near["status"] == "duplicate" and near["memory_id"] != first["memory_id"]
    row = db_conn.execute(
        "SELECT status, duplicate_of FROM memories WHERE id = %s", (near["memory_id"],)
    ).fetchone()
    assert row["status"] == "duplicate" and str(row["duplicate_of"]) == first["memory_id"]
    q = api.call("POST", "/v1/query", {"namespace": ns, "query": "deployment pipeline failed", "top_k": 10})[
        1
    ]
    assert [r["memory_id"] for r in q["results"]] == [first["memory_id"]]


def test_near_duplicate_detection_uses_the_policy_threshold(api, ns, db_conn):
    policy_store.put_policy(ns, {"dedup_threshold": 0.6}, actor=None, request_id=None)
    a = ingest(api, ns, "Book a table for four people at the Italian place on Friday")
    b = ingest(api, ns, "Book a table for four people at the Italian restaurant on Friday evening")
    assert (
        b["status"] == "duplicate"
        and b["duplicate_of"] == a["memory_id"]
        and b["memory_id"] != a["memory_id"]
    )
    hist = api.call("GET", f"/v1/memories/{a['memory_id']}/history")[1]
    assert hist["duplicates"] == [b["memory_id"]]
    audit = db_conn.execute(
        "SELECT details FROM audit_events WHERE namespace = %s AND action = 'dedup'", (ns,)
    ).fetchall()
    assert [e["details"]["match"] for e in audit] == ["near"]
    other = ingest(api, ns, "The cat knocked over the plant")
    assert other["status"] == "created"


def test_a_contradicting_fact_supersedes_the_old_one_which_stays_in_history(api, ns, db_conn):
    old = ingest(api, ns, "My phone number is 555-0100", kind="semantic")
    new = ingest(api, ns, "My phone number is 555-0199", kind="semantic")
    assert new["status"] == "superseded" and new["supersedes"] == old["memory_id"]
    row = db_conn.execute(
        "SELECT status, superseded_by FROM memories WHERE id = %s", (old["memory_id"],)
    ).fetchone()
    assert row["status"] == "superseded" and str(row["superseded_by"]) == new["memory_id"]
    hist = api.call("GET", f"/v1/memories/{old['memory_id']}/history")[1]
    assert hist["memory"]["status"] == "superseded" and hist["memory"]["superseded_by"] == new["memory_id"]
    assert (
        hist["versions"][-1]["text"] == "My phone number is 555-0100"
        and hist["versions"][-1]["change"] == "superseded"
    )
    q = api.call("POST", "/v1/query", {"namespace": ns, "query": "phone number", "top_k": 10})[1]
    assert [r["memory_id"] for r in q["results"]] == [new["memory_id"]]
    audit = db_conn.execute(
        "SELECT memory_id, details FROM audit_events WHERE namespace = %s AND action = 'supersede'", (ns,)
    ).fetchone()
    assert (
        str(audit["memory_id"]) == old["memory_id"] and audit["details"]["superseded_by"] == new["memory_id"]
    )


def test_keep_both_mode_does_not_supersede(api, ns):
    policy_store.put_policy(ns, {"conflict_mode": "keep_both"}, actor=None, request_id=None)
    ingest(api, ns, "I live in Lisbon", kind="semantic")
    assert ingest(api, ns, "I live in Porto", kind="semantic")["status"] == "created"


def test_unrelated_facts_do_not_conflict(api, ns):
    ingest(api, ns, "Ana lives in Porto", kind="semantic")
    assert ingest(api, ns, "Rui lives in Porto", kind="semantic")["status"] == "created"


def test_pii_is_redacted_before_storage_when_the_policy_says_so(api, ns, db_conn):
    policy_store.put_policy(ns, {"pii_redaction": True}, actor=None, request_id=None)
    m = ingest(api, ns, "Reach me at jane.doe@example.com or +1 415 555 0100")
    text = db_conn.execute("SELECT text FROM memories WHERE id = %s", (m["memory_id"],)).fetchone()["text"]
    assert "jane.doe@example.com" not in text and "[EMAIL]" in text and "[PHONE]" in text
    event = db_conn.execute(
        "SELECT details FROM audit_events WHERE namespace = %s AND action = 'redact'", (ns,)
    ).fetchone()
    assert event["details"]["count"] == 2 and "example.com" not in str(event["details"])


def test_without_the_policy_text_is_stored_as_sent(api, ns, db_conn):
    m = ingest(api, ns, "Reach me at jane.doe@example.com")
    text = db_conn.execute("SELECT text FROM memories WHERE id = %s", (m["memory_id"],)).fetchone()["text"]
    assert text == "Reach me at jane.doe@example.com"


def test_include_filtered_explains_superseded_and_duplicate_memories(api, ns):
    policy_store.put_policy(ns, {"dedup_threshold": 0.6}, actor=None, request_id=None)
    old = ingest(api, ns, "My phone number is 555-0100", kind="semantic")
    ingest(api, ns, "My phone number is 555-0199", kind="semantic")
    first = ingest(api, ns, "Book a table for four people at the Italian place on Friday")
    dup = ingest(api, ns, "Book a table for four people at the Italian place on Friday!")
    assert dup["status"] == "duplicate" and dup["memory_id"] != first["memory_id"]
    body = api.call(
        "POST",
        "/v1/query",
        {"namespace": ns, "query": "phone number table Italian", "include_filtered": True},
    )[1]
    reasons = {f["memory_id"]: f["reason"] for f in body["filtered"]}
    assert reasons[old["memory_id"]] == "superseded" and reasons[dup["memory_id"]] == "duplicate"
    assert old["memory_id"] not in {r["memory_id"] for r in body["results"]}


def test_a_move_said_in_other_words_replaces_where_i_live(api, ns):
    old = ingest(api, ns, "I've been living in Lyon since 2019.")
    new = ingest(api, ns, "Guess what, we moved to Porto last month!")
    assert new["supersedes"] == old["memory_id"]
    # The question shares no word with the new value: the fact's key says what it is about.
    body = {"namespace": ns, "query": "Where do I live?", "include_filtered": True}
    q = api.call("POST", "/v1/query", body)[1]
    assert [r["memory_id"] for r in q["results"]] == [new["memory_id"]]
    assert {"memory_id": old["memory_id"], "reason": "superseded", "score": None} in q["filtered"]
