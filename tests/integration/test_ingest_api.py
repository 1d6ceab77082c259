"""POST /v1/ingest against real PostgreSQL + pgvector and Redis."""

from __future__ import annotations

import json
import uuid

import pytest


def count_rows(db_conn, ns: str) -> int:
    return db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"]


def test_single_ingest_creates_a_memory_with_request_id(api, ns, db_conn):
    status, body, headers = api.call(
        "POST",
        "/v1/ingest",
        {
            "namespace": ns,
            "session_id": "s1",
            "role": "user",
            "text": "I live in Lisbon",
            "metadata": {"source": "chat"},
            "occurred_at": "2024-05-01T10:00:00+00:00",
        },
    )
    assert status == 200, body
    assert body["accepted"] == 1
    assert body["memories"][0]["status"] == "created"
    uuid.UUID(headers["x-request-id"])
    row = db_conn.execute(
        "SELECT * FROM memories WHERE id = %s", (body["memories"][0]["memory_id"],)
    ).fetchone()
    assert row["text"] == "I live in Lisbon" and row["namespace"] == ns and row["turn_no"] == 1
    assert row["metadata"] == {"source": "chat"}
    assert row["occurred_at"].isoformat().startswith("2024-05-01T10:00:00")


def test_same_text_twice_in_a_session_is_one_memory_reported_duplicate(api, ns, db_conn):
    first = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "Hello there"}
    )[1]
    status, second, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "hello   THERE"}
    )
    assert status == 200
    original = first["memories"][0]["memory_id"]
    assert second["memories"][0] == {
        "memory_id": original,
        "status": "duplicate",
        "duplicate_of": original,
        "supersedes": None,
    }
    assert count_rows(db_conn, ns) == 1
    assert (
        db_conn.execute("SELECT seen_count FROM memories WHERE id = %s", (original,)).fetchone()["seen_count"]
        == 2
    )
    dedup = db_conn.execute(
        "SELECT * FROM audit_events WHERE namespace = %s AND action = 'dedup'", (ns,)
    ).fetchall()
    assert len(dedup) == 1 and str(dedup[0]["memory_id"]) == original


def test_batch_answers_in_item_order_and_numbers_turns_per_session(api, ns, db_conn):
    items = [
        {"session_id": "a" if i % 2 else "b", "role": "user", "text": f"fact number {i}"} for i in range(10)
    ]
    items.append({"session_id": "b", "role": "user", "text": "fact number 0"})  # duplicate inside the batch
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200
    assert body["accepted"] == 11
    ids = [m["memory_id"] for m in body["memories"]]
    texts = {
        r["id"]: r
        for r in db_conn.execute(
            "SELECT id::text, text, session_id, turn_no FROM memories WHERE namespace = %s", (ns,)
        ).fetchall()
    }
    for i in range(10):
        assert texts[ids[i]]["text"] == f"fact number {i}"
    assert body["memories"][10]["status"] == "duplicate" and body["memories"][10]["duplicate_of"] == ids[0]
    turns_b = sorted(r["turn_no"] for r in texts.values() if r["session_id"] == "b")
    assert turns_b == [1, 2, 3, 4, 5]


def test_ingest_is_audited(api, ns, db_conn):
    api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "audited fact"}
    )
    rows = db_conn.execute(
        "SELECT * FROM audit_events WHERE namespace = %s AND action = 'ingest'", (ns,)
    ).fetchall()
    assert len(rows) == 1 and rows[0]["details"]["count"] == 1 and rows[0]["actor"]


BAD_BODIES = [
    ("missing text", {"session_id": "s", "role": "user"}, 422),
    ("missing session", {"role": "user", "text": "x"}, 422),
    ("wrong type", {"session_id": "s", "role": "user", "text": 42}, 422),
    ("unknown role", {"session_id": "s", "role": "wizard", "text": "x"}, 422),
    ("unknown kind", {"session_id": "s", "role": "user", "text": "x", "kind": "dream"}, 422),
    ("oversize text", {"session_id": "s", "role": "user", "text": "x" * 20_001}, 422),
    ("bad session id", {"session_id": "has space", "role": "user", "text": "x"}, 422),
    (
        "naive timestamp",
        {"session_id": "s", "role": "user", "text": "x", "occurred_at": "2024-01-01T00:00:00"},
        422,
    ),
    ("importance out of range", {"session_id": "s", "role": "user", "text": "x", "importance": 3}, 422),
    (
        "batch too large",
        {"items": [{"session_id": "s", "role": "user", "text": f"t{i}"} for i in range(501)]},
        422,
    ),
    (
        "one bad item poisons the batch",
        {
            "items": [
                {"session_id": "s", "role": "user", "text": "ok"},
                {"session_id": "s", "role": "nope", "text": "bad"},
            ]
        },
        422,
    ),
]


@pytest.mark.parametrize("case, body, expected", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_a_4xx_in_the_spec_shape_and_stores_nothing(api, ns, db_conn, case, body, expected):
    api.call("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "kept"})
    status, resp, headers = api.call("POST", "/v1/ingest", {"namespace": ns, **body})
    assert status == expected, resp
    assert set(resp) == {"error"} and resp["error"]["code"] == "validation_error"
    assert resp["error"]["message"] and resp["error"]["details"]
    assert "Traceback" not in json.dumps(resp)
    assert headers["x-request-id"]
    assert count_rows(db_conn, ns) == 1  # only the earlier memory


def test_malformed_json_is_400(api, ns, db_conn):
    status, resp, _ = api.call("POST", "/v1/ingest", raw=b'{"namespace": "x", "text": ')
    assert status == 400 and resp["error"]["code"] == "invalid_json"


def test_body_over_one_mib_is_413(api, ns, db_conn):
    items = [{"session_id": "s", "role": "user", "text": "y" * 19_000 + str(i)} for i in range(60)]
    status, resp, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 413 and resp["error"]["code"] == "payload_too_large"
    assert count_rows(db_conn, ns) == 0


def test_idempotency_key_replays_the_first_response(api, ns, db_conn):
    body = {
        "namespace": ns,
        "items": [{"session_id": "s", "role": "user", "text": f"turn {i}"} for i in range(3)],
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    s1, r1, _ = api.call("POST", "/v1/ingest", body, headers=key)
    s2, r2, _ = api.call("POST", "/v1/ingest", body, headers=key)
    assert s1 == s2 == 200, r2
    assert r1 == r2  # the replay says "created" again: it is the same response, not a new ingest
    assert count_rows(db_conn, ns) == 3
    s3, r3, _ = api.call("POST", "/v1/ingest", {**body, "items": body["items"][:1]}, headers=key)
    assert s3 == 409 and r3["error"]["code"] == "conflict"
    assert count_rows(db_conn, ns) == 3


def test_a_second_idempotency_key_ingests_its_own_body_not_the_first_requests(api, ns, db_conn):
    first = {"namespace": ns, "session_id": "s", "role": "user", "text": "the first request"}
    second = {"namespace": ns, "session_id": "s", "role": "user", "text": "a different second request"}
    s1, r1, _ = api.call("POST", "/v1/ingest", first, headers={"Idempotency-Key": str(uuid.uuid4())})
    s2, r2, _ = api.call("POST", "/v1/ingest", second, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert s1 == s2 == 200
    assert [m["status"] for m in r2["memories"]] == ["created"]
    assert r2["memories"][0]["memory_id"] != r1["memories"][0]["memory_id"]
    texts = {r["text"] for r in db_conn.execute("SELECT text FROM memories WHERE namespace = %s", (ns,))}
    assert texts == {"the first request", "a different second request"}
