"""Access audit: query, answer and export record who was handed which memory ids (never text),
on by default, off per namespace by policy; a memory's history lists its reads."""

from __future__ import annotations

import json

from tests.conftest import Api, make_key


def _ingest(api, ns, texts, metadata=None):
    items = [{"session_id": "s", "role": "user", "text": t, "metadata": metadata or {}} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def _reads(db_conn, ns):
    return db_conn.execute(
        "SELECT action, actor, details FROM audit_events WHERE namespace = %s"
        " AND action IN ('query', 'answer', 'export') ORDER BY id",
        (ns,),
    ).fetchall()


def test_query_answer_and_export_record_the_ids_they_returned_and_never_text(api, ns, db_conn):
    mid, other = _ingest(api, ns, ["The boiler was serviced by Marguerite in March", "Tea is at four"])
    reader = Api(make_key(["memory:read"], [ns]))
    q = reader.call("POST", "/v1/query", {"namespace": ns, "query": "who serviced the boiler"})[1]
    assert mid in {r["memory_id"] for r in q["results"]}
    assert (
        reader.call("POST", "/v1/answer", {"namespace": ns, "question": "who serviced the boiler"})[0] == 200
    )
    assert reader.call("GET", f"/v1/namespaces/{ns}/export")[0] == 200
    events = _reads(db_conn, ns)
    assert [e["action"] for e in events] == ["query", "answer", "export"]
    key_id = db_conn.execute(
        "SELECT actor FROM audit_events WHERE namespace = %s AND action = 'query'", (ns,)
    ).fetchone()["actor"]
    assert key_id and all(e["actor"] == key_id for e in events)
    assert mid in events[0]["details"]["memory_ids"] and mid in events[1]["details"]["memory_ids"]
    assert set(events[2]["details"]["memory_ids"]) == {mid, other}
    assert "Marguerite" not in json.dumps([e["details"] for e in events])

    history = api.call("GET", f"/v1/memories/{mid}/history")[1]
    assert [r["action"] for r in history["reads"]] == ["export", "answer", "query"]
    assert {r["actor"] for r in history["reads"]} == {key_id}


def test_a_namespace_can_turn_read_auditing_off(api, ns, db_conn):
    [mid] = _ingest(api, ns, ["The gate code changed to spring"])
    assert api.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"audit_reads": False}})[0] == 200
    assert api.call("POST", "/v1/query", {"namespace": ns, "query": "gate code"})[0] == 200
    assert api.call("GET", f"/v1/namespaces/{ns}/export")[0] == 200
    assert _reads(db_conn, ns) == []
    assert api.call("GET", f"/v1/memories/{mid}/history")[1]["reads"] == []


def test_metadata_strings_are_redacted_when_the_policy_says_so(api, ns, db_conn):
    assert api.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"pii_redaction": True}})[0] == 200
    metadata = {
        "contact": "ana.silva@example.com",
        "phone": "+44 20 7946 0958",
        "aws": "AKIAIOSFODNN7EXAMPLE",
        "ssn": "123-45-6789",
        "speaker": "Ana",
        "count": 3,
    }
    [mid] = _ingest(api, ns, ["Call me at +1 212-555-0123 about SSN 123-45-6789"], metadata)
    got = api.call("GET", f"/v1/memories/{mid}")[1]
    assert got["metadata"] == {
        "contact": "[EMAIL]",
        "phone": "[PHONE]",
        "aws": "[SECRET]",
        "ssn": "[ID]",
        "speaker": "Ana",
        "count": 3,
    }
    assert got["text"] == "Call me at [PHONE] about SSN [ID]"
    patched = api.call("PATCH", f"/v1/memories/{mid}", {"metadata": {"mail": "bo@example.org"}})[1]
    assert patched["metadata"] == {"mail": "[EMAIL]"}
    row = db_conn.execute("SELECT metadata::text AS m FROM memories WHERE id = %s", (mid,)).fetchone()
    assert "example.org" not in row["m"]


def test_metadata_is_kept_verbatim_with_redaction_off(api, ns):
    [mid] = _ingest(api, ns, ["plain turn"], {"contact": "ana.silva@example.com"})
    assert api.call("GET", f"/v1/memories/{mid}")[1]["metadata"] == {"contact": "ana.silva@example.com"}
