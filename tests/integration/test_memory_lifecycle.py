"""Memory CRUD with history, session reset, namespace delete and export; forgetting holds on every
read path (query, answer, list, get, export)."""

from __future__ import annotations

import json
import uuid

import redis

from memos import working_memory


def ingest(api, ns, texts, session="s", kind="episodic"):
    status, body, _ = api.call(
        "POST",
        "/v1/ingest",
        {
            "namespace": ns,
            "items": [{"session_id": session, "role": "user", "text": t, "kind": kind} for t in texts],
        },
    )
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def visible_everywhere(api, ns, memory_id, probe: str) -> dict[str, bool]:
    q = api.call("POST", "/v1/query", {"namespace": ns, "query": probe, "top_k": 50, "session_id": "s"})[1]
    a = api.call("POST", "/v1/answer", {"namespace": ns, "question": probe})[1]
    page = api.call("GET", f"/v1/memories?namespace={ns}&limit=200")[1]
    export = api.call("GET", f"/v1/namespaces/{ns}/export")[1]
    return {
        "query": memory_id in {r["memory_id"] for r in q["results"]},
        "window": memory_id in {t["memory_id"] for t in q["context_pack"]["l1_window"]},
        "answer": memory_id in a["citations"],
        "list": memory_id in {m["memory_id"] for m in page["memories"]},
        "get": api.call("GET", f"/v1/memories/{memory_id}")[0] == 200,
        "export": memory_id in export,
    }


def test_patch_keeps_the_old_version_and_reembeds(api, ns, db_conn):
    [mid] = ingest(api, ns, ["I drive a blue bicycle"])
    status, body, _ = api.call(
        "PATCH", f"/v1/memories/{mid}", {"text": "I drive a red scooter", "metadata": {"edited": True}}
    )
    assert status == 200 and body["text"] == "I drive a red scooter" and body["metadata"] == {"edited": True}
    hist = api.call("GET", f"/v1/memories/{mid}/history")[1]
    assert [v["text"] for v in hist["versions"]] == ["I drive a blue bicycle"]
    assert hist["versions"][0]["change"] == "update"
    q = api.call("POST", "/v1/query", {"namespace": ns, "query": "red scooter"})[1]
    assert q["results"][0]["memory_id"] == mid and q["results"][0]["components"]["lexical"] > 0
    assert (
        db_conn.execute(
            "SELECT count(*) AS n FROM audit_events WHERE memory_id = %s AND action = 'update'", (mid,)
        ).fetchone()["n"]
        == 1
    )


def test_patch_rejects_empty_and_null_changes(api, ns):
    [mid] = ingest(api, ns, ["keep me"])
    for bad in ({}, {"text": None}, {"text": "  "}, {"importance": 2}, {"colour": "red"}):
        status, body, _ = api.call("PATCH", f"/v1/memories/{mid}", bad)
        assert status == 422, (bad, body)
    assert api.call("GET", f"/v1/memories/{mid}")[1]["text"] == "keep me"
    assert api.call("PATCH", f"/v1/memories/{uuid.uuid4()}", {"text": "x"})[0] == 404
    assert api.call("PATCH", "/v1/memories/not-a-uuid", {"text": "x"})[0] == 404


def test_deleted_memory_is_gone_from_every_read_path(api, ns, db_conn):
    mid, other = ingest(api, ns, ["The vault code is 4711", "The weather is mild"])
    before = visible_everywhere(api, ns, mid, "vault code")
    assert all(before.values()), before
    status, _, _ = api.call("DELETE", f"/v1/memories/{mid}")
    assert status == 204
    after = visible_everywhere(api, ns, mid, "vault code")
    assert not any(after.values()), after
    assert api.call("GET", f"/v1/memories/{mid}/history")[1]["memory"]["status"] == "deleted"
    assert api.call("DELETE", f"/v1/memories/{mid}")[0] == 404
    assert (
        db_conn.execute(
            "SELECT count(*) AS n FROM audit_events WHERE memory_id = %s AND action = 'delete'", (mid,)
        ).fetchone()["n"]
        == 1
    )
    assert visible_everywhere(api, ns, other, "weather mild")["query"]


def test_session_reset_dry_run_then_clears_everywhere(api, ns, db_conn, env):
    ingest(api, ns, ["alpha one", "alpha two"], session="gone")
    [kept] = ingest(api, ns, ["beta stays"], session="kept")
    api.call("POST", "/v1/query", {"namespace": ns, "query": "alpha", "session_id": "gone"})
    status, body, _ = api.call("POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "gone"})
    assert status == 400 and "confirm" in body["error"]["message"]
    dry = api.call("POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "gone", "dry_run": True})[1]
    assert dry["dry_run"] and dry["counts"]["memories"] == 2 and dry["counts"]["context_packs"] == 1
    assert dry["counts"]["l1_windows"] == 1
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 3
    )
    done = api.call("POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "gone", "confirm": True})[1]
    assert done["counts"] == dry["counts"]
    for table in ("memories", "context_packs", "sessions", "condensations"):
        n = db_conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE namespace = %s AND session_id = 'gone'", (ns,)
        ).fetchone()["n"]
        assert n == 0, table
    r = redis.Redis.from_url(env["redis_url"])
    assert not r.exists(working_memory.window_key(ns, "gone"))
    assert api.call("GET", f"/v1/memories/{kept}")[0] == 200
    assert (
        db_conn.execute(
            "SELECT count(*) AS n FROM audit_events WHERE namespace = %s AND action = 'reset'", (ns,)
        ).fetchone()["n"]
        == 1
    )


def test_namespace_delete_forgets_everything_and_is_audited(api, ns, db_conn):
    ingest(api, ns, ["one", "two"], session="a")
    ingest(api, ns, ["three"], session="b")
    status, body, _ = api.call("DELETE", f"/v1/namespaces/{ns}")
    assert status == 200 and body["deleted"]["memories"] == 3 and body["deleted"]["sessions"] == 2
    assert api.call("GET", f"/v1/memories?namespace={ns}")[1]["memories"] == []
    assert api.call("DELETE", f"/v1/namespaces/{ns}")[0] == 404
    row = db_conn.execute(
        "SELECT details FROM audit_events WHERE namespace = %s AND action = 'namespace_delete'", (ns,)
    ).fetchone()
    assert row["details"]["memories"] == 3


def test_export_is_json_lines_of_live_memories(api, ns):
    ids = ingest(api, ns, ["first line", "second line"])
    status, body, headers = api.call("GET", f"/v1/namespaces/{ns}/export")
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in body.strip().split("\n")]
    assert [(x["type"], x["id"]) for x in lines] == [("memory", ids[0]), ("memory", ids[1])]
    assert all(x["namespace"] == ns for x in lines)


def test_a_deleted_memory_leaves_the_session_summary_too(api, ns):
    from memos.governance.condensation import condense

    _, gone = ingest(api, ns, ["I prefer window seats on flights", "My locker code is 4711"])
    assert condense({"job_id": f"{ns}/s/2", "namespace": ns, "session_id": "s", "through_turn": 2}) == "done"
    before = api.call("POST", "/v1/query", {"namespace": ns, "query": "locker", "session_id": "s"})[1]
    assert "4711" in (before["context_pack"]["summary"] or "")
    api.call("DELETE", f"/v1/memories/{gone}")
    after = api.call("POST", "/v1/query", {"namespace": ns, "query": "locker", "session_id": "s"})[1]
    assert "4711" not in after["context_pack"]["text"] and "window seats" in (
        after["context_pack"]["summary"] or ""
    )
    export = api.call("GET", f"/v1/namespaces/{ns}/export")[1]
    assert "4711" not in export and "window seats" in export
