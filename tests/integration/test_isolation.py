"""No read returns or counts another namespace's memories (SPEC §3 isolation)."""

from __future__ import annotations

import uuid

from tests.conftest import Api, make_key

TOPICS = ["espresso machine", "hiking boots", "tax return", "guitar lessons", "kidney beans"]


def test_query_in_one_of_many_namespaces_never_sees_the_others(api, db_conn):
    prefix = f"iso-{uuid.uuid4().hex[:6]}"
    namespaces = [f"{prefix}-{i}" for i in range(25)]
    for i, ns in enumerate(namespaces):
        # Every namespace holds the same texts plus its own marker: the best matches exist everywhere.
        items = [{"session_id": "s", "role": "user", "text": f"My {t} note for {ns}"} for t in TOPICS]
        items.append({"session_id": "s", "role": "user", "text": f"marker {i}"})
        status, _, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
        assert status == 200
    own_ids = {
        ns: {
            str(r["id"])
            for r in db_conn.execute("SELECT id FROM memories WHERE namespace = %s", (ns,)).fetchall()
        }
        for ns in namespaces
    }
    for ns in namespaces[:5]:
        status, body, _ = api.call(
            "POST",
            "/v1/query",
            {"namespace": ns, "query": "espresso hiking tax guitar", "top_k": 100, "include_filtered": True},
        )
        assert status == 200
        returned = {r["memory_id"] for r in body["results"]} | {f["memory_id"] for f in body["filtered"]}
        assert returned, "the query should find this namespace's own memories"
        assert returned <= own_ids[ns]
        assert all(ns in r["text"] or r["text"].startswith("marker") for r in body["results"])
        # Candidate tokens count only this namespace's memories (each rendered with a short header).
        assert body["token_usage"]["candidates"] <= sum(
            r["tokens"] + 25
            for r in db_conn.execute("SELECT tokens FROM memories WHERE namespace = %s", (ns,))
        )
        status, page, _ = api.call("GET", f"/v1/memories?namespace={ns}&limit=200")
        assert {m["memory_id"] for m in page["memories"]} == own_ids[ns]


def test_a_key_cannot_touch_a_namespace_outside_its_grant_and_learns_nothing(api, ns):
    api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "secret plan"}
    )
    stranger = Api(make_key(["memory:read", "memory:write"], ["tenant-b*"]))
    missing = f"never-{uuid.uuid4().hex[:8]}"
    answers = []
    for target in (ns, missing):
        status, body, _ = stranger.call("POST", "/v1/query", {"namespace": target, "query": "secret plan"})
        answers.append((status, body))
        status_w, _, _ = stranger.call(
            "POST", "/v1/ingest", {"namespace": target, "session_id": "s", "role": "user", "text": "x"}
        )
        assert status_w == 403
    assert answers[0] == answers[1]  # an existing namespace looks exactly like a missing one
    assert answers[0][0] == 403


def test_a_memory_id_from_another_tenant_is_not_found(api, ns):
    mid = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "private"}
    )[1]["memories"][0]["memory_id"]
    stranger = Api(make_key(["memory:read"], ["tenant-b*"]))
    status, body, _ = stranger.call("GET", f"/v1/memories/{mid}")
    missing_status, missing_body, _ = stranger.call("GET", f"/v1/memories/{uuid.uuid4()}")
    assert status == missing_status == 404 and body == missing_body
    assert api.call("GET", f"/v1/memories/{mid}")[1]["text"] == "private"


def test_requests_without_a_valid_key_are_401_except_health(api):
    anon = Api(None)
    assert anon.call("GET", "/v1/health")[0] in (200, 503)
    status, body, _ = anon.call("POST", "/v1/query", {"namespace": "x", "query": "q"})
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert Api("memos_bogus_key").call("GET", "/v1/memories?namespace=x")[0] == 401


def test_scope_is_enforced_and_denials_are_audited(db_conn, ns, env):
    reader = Api(make_key(["memory:read"], [ns]))
    status, _, _ = reader.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "not allowed"}
    )
    assert status == 403
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 0
    )
    denied = db_conn.execute(
        "SELECT details FROM audit_events WHERE action = 'access_denied' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert denied["details"]["path"] == "/v1/ingest"
