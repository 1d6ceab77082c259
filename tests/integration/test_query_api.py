"""POST /v1/query: hybrid candidates, explained scores, filters, context packs."""

from __future__ import annotations

TURNS = [
    ("s1", "user", "I am allergic to peanuts and shellfish", "2024-03-01T10:00:00+00:00"),
    ("s1", "assistant", "Noted, I will avoid peanut dishes", "2024-03-01T10:01:00+00:00"),
    ("s1", "user", "My sister Ana lives in Porto", "2024-03-01T10:02:00+00:00"),
    ("s2", "user", "The quarterly report is due on Friday", "2024-04-10T09:00:00+00:00"),
    ("s2", "user", "Remind me to water the basil plants", "2024-04-10T09:05:00+00:00"),
    ("s2", "tool", "calendar: dentist appointment on 2024-04-12", "2024-04-10T09:06:00+00:00"),
]


def seed(api, ns):
    items = [
        {"session_id": s, "role": r, "text": t, "occurred_at": at, "metadata": {"topic": s}}
        for s, r, t, at in TURNS
    ]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200
    return [m["memory_id"] for m in body["memories"]]


def test_the_matching_memory_ranks_first_with_components(api, ns):
    ids = seed(api, ns)
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "what is she allergic to?"})
    assert status == 200
    top = body["results"][0]
    assert top["memory_id"] == ids[0]
    assert top["layer"] == "L2"
    assert set(top["components"]) >= {"vector", "lexical", "recency", "importance"}
    assert top["components"]["lexical"] > 0 and top["components"]["vector"] > 0
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert body["timings_ms"]["total"] > 0


def test_session_scope_and_filters_limit_candidates(api, ns):
    ids = seed(api, ns)
    body = api.call(
        "POST",
        "/v1/query",
        {
            "namespace": ns,
            "query": "report basil dentist peanuts",
            "session_id": "s2",
            "scope": "session",
            "top_k": 20,
        },
    )[1]
    assert {r["session_id"] for r in body["results"]} == {"s2"}
    body = api.call(
        "POST",
        "/v1/query",
        {
            "namespace": ns,
            "query": "report basil dentist peanuts",
            "top_k": 20,
            "filters": {"roles": ["tool"]},
        },
    )[1]
    assert [r["memory_id"] for r in body["results"]] == [ids[5]]
    body = api.call(
        "POST",
        "/v1/query",
        {
            "namespace": ns,
            "query": "peanuts report",
            "top_k": 20,
            "filters": {"since": "2024-04-01T00:00:00Z"},
        },
    )[1]
    assert body["results"] and all(r["occurred_at"] >= "2024-04" for r in body["results"])
    body = api.call(
        "POST",
        "/v1/query",
        {"namespace": ns, "query": "peanuts report", "top_k": 20, "filters": {"metadata": {"topic": "s1"}}},
    )[1]
    assert body["results"] and {r["session_id"] for r in body["results"]} == {"s1"}
    assert all(r["metadata"] == {"topic": r["session_id"]} for r in body["results"])  # each its own, parsed


def test_results_and_pack_carry_each_memorys_stored_metadata(api, ns):
    items = [
        {
            "session_id": "s1",
            "role": "user",
            "text": "Our cat Miso hates the vacuum",
            "metadata": {"speaker": "Lena", "n": [1, 2.5, None]},
        },
        {"session_id": "s1", "role": "user", "text": "The cat Miso sleeps on the radiator", "metadata": {}},
        {
            "session_id": "s1",
            "role": "assistant",
            "text": "Miso the cat likes tuna",
            "metadata": {"speaker": 'Bot \u00e9"q'},
        },
    ]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200
    stored = {m["memory_id"]: it["metadata"] for m, it in zip(body["memories"], items, strict=True)}
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "what about the cat Miso?", "top_k": 10})[
        1
    ]
    assert {r["memory_id"] for r in body["results"]} == set(stored)
    for r in body["results"]:
        assert r["metadata"] == stored[r["memory_id"]]
    text = body["context_pack"]["text"]  # a line names its speaker from the metadata, else the role
    assert "- Lena: Our cat Miso hates the vacuum" in text
    assert "- user: The cat Miso sleeps on the radiator" in text
    assert '- Bot \u00e9"q: Miso the cat likes tuna' in text


def test_session_window_comes_from_l1_and_the_pack_respects_the_budget(api, ns):
    seed(api, ns)
    body = api.call(
        "POST",
        "/v1/query",
        {
            "namespace": ns,
            "query": "peanut allergy",
            "session_id": "s1",
            "token_budget": 60,
            "top_k": 10,
            "include_filtered": True,
        },
    )[1]
    pack = body["context_pack"]
    assert pack["tokens"] <= 60
    assert [t["text"] for t in pack["l1_window"]][-1] == "My sister Ana lives in Porto"
    assert any(r["layer"] == "L1" for r in body["results"])
    usage = body["token_usage"]
    assert usage["packed"] == pack["tokens"]
    assert usage["saved"] == usage["candidates"] - usage["packed"]
    assert 0 <= usage["ratio"] <= 1


def test_over_budget_and_top_k_cuts_are_explained(api, ns):
    seed(api, ns)
    body = api.call(
        "POST",
        "/v1/query",
        {
            "namespace": ns,
            "query": "peanuts sister report basil dentist",
            "top_k": 2,
            "token_budget": 50,
            "include_filtered": True,
        },
    )[1]
    reasons = {f["reason"] for f in body["filtered"]}
    assert "not_in_top_k" in reasons
    assert len(body["results"]) == 2
    without = api.call("POST", "/v1/query", {"namespace": ns, "query": "peanuts", "top_k": 2})[1]
    assert without["filtered"] == []


def test_query_on_an_empty_namespace_returns_an_empty_pack(api, ns):
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "anything"})
    assert status == 200 and body["results"] == [] and body["context_pack"]["tokens"] == 0


def test_context_pack_is_stored_for_replay(api, ns, db_conn):
    seed(api, ns)
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "peanut"})[1]
    row = db_conn.execute(
        "SELECT * FROM context_packs WHERE id = %s", (body["context_pack"]["id"],)
    ).fetchone()
    assert row["namespace"] == ns and row["pack"]["text"] == body["context_pack"]["text"]


def _access(db_conn, memory_id):
    return db_conn.execute(
        "SELECT access_count, last_accessed_at FROM memories WHERE id = %s", (memory_id,)
    ).fetchone()


def test_retrieval_counts_access_after_the_answer_exactly_once(api, ns, db_conn):
    from memos.retrieval import feedback

    ids = seed(api, ns)
    for _ in range(2):
        status, body, _ = api.call(
            "POST", "/v1/query", {"namespace": ns, "query": "allergic peanuts shellfish", "top_k": 1}
        )
        assert status == 200 and body["results"][0]["memory_id"] == ids[0]
    # The query wrote nothing to the memory itself: its pack holds the feedback until it is applied.
    assert _access(db_conn, ids[0])["access_count"] == 0
    pending = db_conn.execute(
        "SELECT count(*) AS n FROM context_packs WHERE namespace = %s AND touched IS NOT NULL", (ns,)
    ).fetchone()
    assert pending["n"] == 2
    assert feedback.apply() >= 2
    row = _access(db_conn, ids[0])
    assert row["access_count"] == 2 and row["last_accessed_at"] is not None
    feedback.apply()  # nothing left to apply: the count does not move again
    assert _access(db_conn, ids[0])["access_count"] == 2
