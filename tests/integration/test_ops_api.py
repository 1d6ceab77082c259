"""The ops read API reports real figures: each one moves by exactly what a test did, and no figure
or row ever comes from a namespace outside the caller's grant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import boto3
import pytest

from infra.local.services import free_port
from memos.access.auth import hash_key
from tests.conftest import Api, make_key
from tests.services import env_override

# Texts far apart from each other, so near-duplicate detection leaves every one of them alone.
DISTINCT = [
    "The espresso machine needs descaling every month",
    "Our hiking trip to the Alps starts in July",
    "Tax returns are filed by the accountant Priya",
    "Guitar lessons moved to Thursday evenings",
    "The cat is allergic to chicken-based food",
    "Invoices above 10k require two signatures",
    "Kubernetes upgrades are frozen until the audit ends",
    "My daughter plays violin in the school orchestra",
]

OPS_PATHS = [
    "/v1/ops/stats",
    "/v1/ops/pipeline",
    "/v1/ops/audit",
    "/v1/ops/condensations",
    "/v1/ops/context_packs",
    "/v1/ops/procedural",
]


def get(api, path, key="default", **params):
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return api.call("GET", f"{path}?{query}" if query else path, key=key)


def ok(api, path, **params):
    status, body, _ = get(api, path, **params)
    assert status == 200, body
    return body


def ingest(api, ns, items):
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def turns(session, *texts, **extra):
    return [{"session_id": session, "role": "user", "text": t, **extra} for t in texts]


def add_condensation(db_conn, ns, session, status, before, after, turn_range=(1, 20), created_at=None):
    cid = uuid.uuid4()
    db_conn.execute(
        "INSERT INTO condensations (id, job_id, namespace, session_id, from_turn, to_turn, status, summary,"
        " summary_text, tokens_before, tokens_after, error, created_at, completed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()),"
        " CASE WHEN %s = 'done' THEN now() END)",
        (
            cid,
            f"{ns}/{session}/{turn_range[1]}/{cid}",
            ns,
            session,
            turn_range[0],
            turn_range[1],
            status,
            '{"facts": ["f1"], "decisions": []}' if status == "done" else None,
            "facts: f1" if status == "done" else None,
            before,
            after,
            "summarizer crashed" if status == "failed" else None,
            created_at,
            status,
        ),
    )
    return str(cid)


def sqs(env):
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=env["sqs"].endpoint)


def remove_own_messages(client, urls, marker):
    """Delete this test's messages; release anything else at once for the tests that own it."""
    for url in urls:
        others = []
        while msgs := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        ):
            for m in msgs:
                if marker in m["Body"]:
                    client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                else:
                    others.append(m["ReceiptHandle"])
        for handle in others:
            client.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)


def assert_error(status, body, expected_status, code=None):
    assert status == expected_status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code


# --------------------------------------------------------------------------- stats


def test_stats_count_exactly_what_was_ingested_in_a_fresh_namespace(api, ns, db_conn):
    empty = ok(api, "/v1/ops/stats", namespace=ns)
    assert empty["memories"]["total"] == 0 and empty["active_contexts"] == 0
    assert empty["tokens"]["combined"] == {
        "count": 0,
        "tokens_in": 0,
        "tokens_out": 0,
        "saved": 0,
        "savings_ratio": None,
        "compression_ratio": None,
    }

    ids = ingest(
        api,
        ns,
        turns("s1", "I like green tea", "My manager is Rosa", "The office is in Lisbon")
        + turns("s2", "Deploys happen on Tuesdays", "The build uses Bazel")
        + [{"session_id": "s2", "role": "user", "text": "Rosa prefers email", "kind": "semantic"}]
        + [{"session_id": "s2", "role": "system", "text": "Answer briefly", "kind": "procedural"}],
    )
    assert len(ids) == 7
    body = ok(api, "/v1/ops/stats", namespace=ns)
    assert body["namespace"] == ns
    assert body["memories"]["total"] == 7
    assert body["memories"]["by_kind"] == {"episodic": 5, "semantic": 1, "procedural": 1}
    assert body["memories"]["by_status"] == {
        "active": 7,
        "duplicate": 0,
        "superseded": 0,
        "expired": 0,
        "deleted": 0,
    }
    assert body["layers"]["L2"] == {"memories": 7, "by_kind": body["memories"]["by_kind"]}
    assert body["layers"]["L1"] == {"active_sessions": 2} and body["active_contexts"] == 2
    l3 = body["layers"][
        "L3"
    ]  # ingest may extract entities itself; the direct inserts below add exactly 2 + 1
    assert sum(p["ingested"] for p in body["throughput"]) == 7
    assert sum(p["queries"] for p in body["throughput"]) == 0
    assert len(body["throughput"]) == 60
    minutes = [p["minute"] for p in body["throughput"]]
    assert minutes == sorted(minutes)
    for layer in ("L1", "L2", "L3"):
        assert body["health"][layer]["status"] == "ok" and body["health"][layer]["latency_ms"] > 0

    # Governance outcomes written straight to the store show up under their status.
    db_conn.execute("UPDATE memories SET status = 'superseded' WHERE id = %s", (ids[0],))
    db_conn.execute("UPDATE memories SET status = 'deleted' WHERE id = %s", (ids[1],))
    db_conn.execute("UPDATE memories SET expires_at = now() - interval '1 second' WHERE id = %s", (ids[5],))
    e1, e2 = uuid.uuid4(), uuid.uuid4()
    db_conn.execute(
        "INSERT INTO entities (id, namespace, name, normalized) VALUES (%s, %s, 'Zorblax', 'zorblax-ops'),"
        " (%s, %s, 'Quuxville', 'quuxville-ops')",
        (e1, ns, e2, ns),
    )
    db_conn.execute(
        "INSERT INTO relations (id, namespace, subject_id, predicate, object_id) VALUES (%s, %s, %s, 'works_in', %s)",
        (uuid.uuid4(), ns, e1, e2),
    )
    body = ok(api, "/v1/ops/stats", namespace=ns)
    assert body["memories"]["total"] == 4
    assert body["memories"]["by_kind"] == {"episodic": 3, "semantic": 0, "procedural": 1}
    assert body["memories"]["by_status"] == {
        "active": 4,
        "duplicate": 0,
        "superseded": 1,
        "expired": 1,
        "deleted": 1,
    }
    assert body["layers"]["L3"] == {"entities": l3["entities"] + 2, "relations": l3["relations"] + 1}


def test_queries_move_the_context_pack_count_and_token_savings(api, ns):
    ingest(api, ns, turns("s", *DISTINCT))
    before = ok(api, "/v1/ops/stats", namespace=ns)["tokens"]["context_packs"]
    assert before["count"] == 0
    usages = []
    for q in ("when is the hiking trip", "who files the tax returns", "violin orchestra"):
        status, body, _ = api.call(
            "POST", "/v1/query", {"namespace": ns, "query": q, "session_id": "s", "token_budget": 60}
        )
        assert status == 200
        usages.append(body["token_usage"])
    candidates = sum(u["candidates"] for u in usages)
    packed = sum(u["packed"] for u in usages)
    assert candidates > packed > 0
    body = ok(api, "/v1/ops/stats", namespace=ns)
    packs = body["tokens"]["context_packs"]
    assert packs["count"] == 3
    assert packs["tokens_in"] == candidates and packs["tokens_out"] == packed
    assert packs["saved"] == candidates - packed
    assert packs["savings_ratio"] == round((candidates - packed) / candidates, 4)
    assert packs["compression_ratio"] == round(candidates / packed, 4)
    assert body["tokens"]["combined"]["tokens_in"] == candidates  # no condensation in this namespace
    assert sum(p["queries"] for p in body["throughput"]) == 3


def test_a_done_condensation_sets_the_compression_ratio(api, ns, db_conn):
    status, _, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "nothing yet"})
    assert status == 200  # one empty pack: 0 tokens in, 0 out
    add_condensation(db_conn, ns, "s", "done", 1000, 250)
    add_condensation(db_conn, ns, "s", "failed", 500, None, (21, 40))
    add_condensation(db_conn, ns, "s2", "pending", None, None)
    tokens = ok(api, "/v1/ops/stats", namespace=ns)["tokens"]
    assert tokens["condensations"] == {
        "count": 1,
        "tokens_in": 1000,
        "tokens_out": 250,
        "saved": 750,
        "savings_ratio": 0.75,
        "compression_ratio": 4.0,
    }
    assert tokens["context_packs"]["count"] == 1
    assert tokens["combined"] == {
        "count": 2,
        "tokens_in": 1000,
        "tokens_out": 250,
        "saved": 750,
        "savings_ratio": 0.75,
        "compression_ratio": 4.0,
    }
    add_condensation(db_conn, ns, "s", "done", 600, 150, (41, 60))
    tokens = ok(api, "/v1/ops/stats", namespace=ns)["tokens"]
    assert tokens["condensations"]["tokens_in"] == 1600 and tokens["condensations"]["tokens_out"] == 400


def test_stats_survive_redis_down_and_report_l1_as_down(api, ns):
    ingest(api, ns, turns("s", "kept in L2 whatever happens to Redis"))
    with env_override(MEMOS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        status, body, _ = get(api, "/v1/ops/stats", namespace=ns)
    assert status == 200
    assert body["health"]["L1"]["status"] == "down" and body["health"]["L1"]["latency_ms"] is None
    assert body["active_contexts"] is None and body["layers"]["L1"]["active_sessions"] is None
    assert body["health"]["L2"]["status"] == "ok" and body["memories"]["total"] == 1


# --------------------------------------------------------------------------- isolation and auth


def test_a_tenant_prefix_key_never_sees_another_tenant_in_any_ops_endpoint(api, db_conn):
    uid = uuid.uuid4().hex[:8]
    prefix = f"tenant_a{uid}"  # "_" must not act as a LIKE wildcard
    mine = [f"{prefix}-1", f"{prefix}-2"]
    others = [f"tenantXa{uid}-1", f"tenant-b{uid}"]
    for ns in mine + others:
        ingest(
            api,
            ns,
            [
                *turns("s", f"{DISTINCT[0]} in {ns}", f"{DISTINCT[1]} for {ns}"),
                {
                    "session_id": "s",
                    "role": "system",
                    "text": f"Use the lookup tool in {ns}",
                    "kind": "procedural",
                    "metadata": {"tool": f"lookup-{ns}", "description": "finds things"},
                },
            ],
        )
        assert (
            api.call("POST", "/v1/query", {"namespace": ns, "query": "espresso", "session_id": "s"})[0] == 200
        )
        add_condensation(db_conn, ns, "s", "done", 100, 10)
        db_conn.execute(
            "INSERT INTO audit_events (namespace, action, details) VALUES (%s, 'decay', '{\"decayed\": 1}')",
            (ns,),
        )
    tenant = Api(make_key(["ops:read"], [f"{prefix}*"]))

    stats = ok(tenant, "/v1/ops/stats")
    assert stats["namespace"] is None
    assert stats["memories"]["total"] == 6  # 3 in each of my two namespaces, nothing else
    assert stats["active_contexts"] == 2
    assert stats["tokens"]["condensations"]["count"] == 2
    assert stats["tokens"]["condensations"]["tokens_in"] == 200
    assert stats["tokens"]["context_packs"]["count"] == 2
    assert sum(p["ingested"] for p in stats["throughput"]) == 6
    assert sum(p["queries"] for p in stats["throughput"]) == 2
    assert stats["queue_depth"] is None  # the queue mixes every tenant's jobs

    pipeline = ok(tenant, "/v1/ops/pipeline", limit=100)
    assert pipeline["queue"]["available"] is False and pipeline["queue"]["depth"] is None
    assert pipeline["condensations_by_status"]["done"] == 2
    assert {c["namespace"] for c in pipeline["recent_condensations"]} == set(mine)
    assert {e["namespace"] for e in pipeline["recent_decay_runs"]} == set(mine)

    events = ok(tenant, "/v1/ops/audit", limit=500)["events"]
    assert events and {e["namespace"] for e in events} == set(mine)  # no NULL-namespace events either
    assert {c["namespace"] for c in ok(tenant, "/v1/ops/condensations")["condensations"]} == set(mine)
    packs = ok(tenant, "/v1/ops/context_packs", include_pack="true")["context_packs"]
    assert len(packs) == 2 and {p["namespace"] for p in packs} == set(mine)
    procedural = ok(tenant, "/v1/ops/procedural")
    assert {m["namespace"] for m in procedural["memories"]} == set(mine)
    assert {t["name"] for t in procedural["tools"]} == {f"lookup-{ns}" for ns in mine}

    # Naming one of mine narrows to it; naming another tenant's (or a missing) namespace is 403.
    assert ok(tenant, "/v1/ops/stats", namespace=mine[0])["memories"]["total"] == 3
    for path in OPS_PATHS:
        for ns in [*others, f"tenant-c{uid}"]:  # another tenant's, or one that does not exist
            status, body, _ = get(tenant, path, namespace=ns)
            assert_error(status, body, 403, "forbidden")
            assert body["error"]["message"] == "this key may not access that namespace"


def test_a_key_without_ops_read_is_forbidden_everywhere(api, ns, db_conn):
    key = make_key(["memory:read", "memory:write"], ["*"])
    reader = Api(key)
    for path in OPS_PATHS:
        for params in ({}, {"namespace": ns}):
            status, body, _ = get(reader, path, **params)
            assert_error(status, body, 403, "forbidden")
            assert "ops:read" in body["error"]["message"]
    key_id = db_conn.execute("SELECT id FROM api_keys WHERE key_hash = %s", (hash_key(key),)).fetchone()["id"]
    denied = db_conn.execute(
        "SELECT details->>'path' AS path FROM audit_events WHERE action = 'access_denied' AND actor = %s",
        (str(key_id),),
    ).fetchall()
    assert sorted(r["path"] for r in denied) == sorted(OPS_PATHS * 2)
    status, body, _ = get(api, "/v1/ops/stats", key=None)
    assert_error(status, body, 401)


# --------------------------------------------------------------------------- audit


def test_audit_filters_and_cursor_paging_return_every_event_exactly_once(api, ns, db_conn):
    for a, b in zip(DISTINCT[:4], DISTINCT[4:8], strict=True):
        ingest(api, ns, turns("s1", a))
        ingest(api, ns, turns("s2", b))
    ingest(api, ns, turns("s1", DISTINCT[0]))  # an exact duplicate: a dedup event
    expected = [
        r["id"]
        for r in db_conn.execute(
            "SELECT id FROM audit_events WHERE namespace = %s ORDER BY at DESC, id DESC", (ns,)
        ).fetchall()
    ]
    assert len(expected) == 9

    seen, cursor, pages = [], None, 0
    while True:
        page = ok(api, "/v1/ops/audit", namespace=ns, limit=2, cursor=cursor)
        seen += [e["id"] for e in page["events"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 5

    s2 = ok(api, "/v1/ops/audit", namespace=ns, session_id="s2")["events"]
    assert len(s2) == 4 and {e["session_id"] for e in s2} == {"s2"}
    dedup = ok(api, "/v1/ops/audit", namespace=ns, action="dedup")["events"]
    assert len(dedup) == 1 and dedup[0]["action"] == "dedup" and dedup[0]["memory_id"]
    ingests = ok(api, "/v1/ops/audit", namespace=ns, action="ingest")["events"]
    assert len(ingests) == 8 and all(e["details"]["count"] == 1 for e in ingests)

    rows = db_conn.execute(
        "SELECT id, at FROM audit_events WHERE namespace = %s ORDER BY at, id", (ns,)
    ).fetchall()
    middle = rows[4]["at"]
    since = [e["id"] for e in ok(api, "/v1/ops/audit", namespace=ns, since=middle.isoformat())["events"]]
    assert sorted(since) == sorted(r["id"] for r in rows if r["at"] >= middle)
    until = [e["id"] for e in ok(api, "/v1/ops/audit", namespace=ns, until=middle.isoformat())["events"]]
    assert sorted(until) == sorted(r["id"] for r in rows if r["at"] < middle)
    assert set(since) | set(until) == set(expected) and not set(since) & set(until)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ok(api, "/v1/ops/audit", namespace=ns, since=future)["events"] == []


def test_audit_events_without_a_namespace_are_visible_only_to_star_grants(api, ns):
    key = make_key(["ops:read"], [ns])  # records a key_create event with no namespace
    created = ok(api, "/v1/ops/audit", action="key_create", limit=500)["events"]
    assert any(e["namespace"] is None for e in created)
    tenant = Api(key)
    ingest(api, ns, turns("s", "hello"))
    assert ok(tenant, "/v1/ops/audit", action="key_create")["events"] == []
    events = ok(tenant, "/v1/ops/audit")["events"]
    assert [e["action"] for e in events] == ["ingest"] and events[0]["namespace"] == ns


# --------------------------------------------------------------------------- condensations, packs, procedural


def test_condensations_list_newest_first_with_filters_and_paging(api, ns, db_conn):
    now = datetime.now(UTC)
    ids = [
        add_condensation(db_conn, ns, "s1", "done", 800, 200, (1, 20), now - timedelta(minutes=3)),
        add_condensation(db_conn, ns, "s1", "failed", None, None, (21, 40), now - timedelta(minutes=2)),
        add_condensation(db_conn, ns, "s2", "pending", None, None, (1, 20), now - timedelta(minutes=1)),
    ]
    body = ok(api, "/v1/ops/condensations", namespace=ns)
    assert [c["id"] for c in body["condensations"]] == ids[::-1] and body["next_cursor"] is None
    done = body["condensations"][2]
    assert done["summary"] == {"facts": ["f1"], "decisions": []} and done["summary_text"] == "facts: f1"
    assert (done["tokens_before"], done["tokens_after"], done["from_turn"], done["to_turn"]) == (
        800,
        200,
        1,
        20,
    )
    assert done["completed_at"] is not None and done["status"] == "done"
    assert body["condensations"][1]["error"] == "summarizer crashed"
    s1 = ok(api, "/v1/ops/condensations", namespace=ns, session_id="s1")["condensations"]
    assert [c["id"] for c in s1] == [ids[1], ids[0]]
    first = ok(api, "/v1/ops/condensations", namespace=ns, limit=2)
    rest = ok(api, "/v1/ops/condensations", namespace=ns, limit=2, cursor=first["next_cursor"])
    assert [c["id"] for c in first["condensations"] + rest["condensations"]] == ids[::-1]
    assert rest["next_cursor"] is None


def test_include_pack_toggles_the_stored_pack(api, ns, db_conn):
    ingest(api, ns, turns("s1", "The launch is on Monday") + turns("s2", "The budget is 40k"))
    q1 = api.call("POST", "/v1/query", {"namespace": ns, "query": "launch", "session_id": "s1"})[1]
    q2 = api.call("POST", "/v1/query", {"namespace": ns, "query": "budget", "session_id": "s2"})[1]

    lean = ok(api, "/v1/ops/context_packs", namespace=ns)["context_packs"]
    assert [p["id"] for p in lean] == [q2["context_pack"]["id"], q1["context_pack"]["id"]]
    assert all(p["pack"] is None for p in lean)
    assert lean[0]["query_id"] == q2["query_id"] and lean[0]["query"] == "budget"
    assert lean[0]["candidate_tokens"] == q2["token_usage"]["candidates"]
    assert lean[0]["packed_tokens"] == q2["token_usage"]["packed"]

    full = ok(api, "/v1/ops/context_packs", namespace=ns, include_pack="true")["context_packs"]
    stored = db_conn.execute(
        "SELECT pack FROM context_packs WHERE id = %s", (q1["context_pack"]["id"],)
    ).fetchone()
    assert full[1]["pack"] == stored["pack"] and full[1]["pack"]["text"] == q1["context_pack"]["text"]
    assert stored["pack"] == q1["context_pack"]  # stored as the response gave it, window and items too
    assert (
        ok(api, "/v1/ops/context_packs", namespace=ns, include_pack="false")["context_packs"][0]["pack"]
        is None
    )

    s1 = ok(api, "/v1/ops/context_packs", namespace=ns, session_id="s1")["context_packs"]
    assert [p["id"] for p in s1] == [q1["context_pack"]["id"]]
    page1 = ok(api, "/v1/ops/context_packs", namespace=ns, limit=1)
    page2 = ok(api, "/v1/ops/context_packs", namespace=ns, limit=1, cursor=page1["next_cursor"])
    assert [p["id"] for p in page1["context_packs"] + page2["context_packs"]] == [p["id"] for p in lean]
    assert page2["next_cursor"] is None


def test_procedural_registry_lists_live_prompts_and_declared_tools(api, ns, db_conn):
    ids = ingest(
        api,
        ns,
        [
            {
                "session_id": "setup",
                "role": "system",
                "kind": "procedural",
                "text": "Always answer in English",
                "occurred_at": "2024-01-01T00:00:00Z",
            },
            {
                "session_id": "setup",
                "role": "system",
                "kind": "procedural",
                "text": "Use search for anything after 2023",
                "metadata": {"tool": "search", "description": "web search", "parameters": {"q": "string"}},
                "occurred_at": "2024-01-02T00:00:00Z",
            },
            {
                "session_id": "setup",
                "role": "system",
                "kind": "procedural",
                "text": "Call the calendar tool to book meetings",
                "metadata": {"tool": {"name": "calendar", "description": "books meetings"}},
                "occurred_at": "2024-01-03T00:00:00Z",
                "importance": 0.9,
            },
            {
                "session_id": "setup",
                "role": "system",
                "kind": "procedural",
                "text": "Old prompt that was retired",
                "metadata": {"tool": "retired"},
                "occurred_at": "2024-01-04T00:00:00Z",
            },
            {"session_id": "chat", "role": "user", "text": "Use search to find a hotel"},
        ],
    )
    db_conn.execute("UPDATE memories SET status = 'deleted' WHERE id = %s", (ids[3],))
    body = ok(api, "/v1/ops/procedural", namespace=ns)
    assert [m["memory_id"] for m in body["memories"]] == [ids[2], ids[1], ids[0]]
    top = body["memories"][0]
    assert top["importance"] == pytest.approx(0.9) and top["occurred_at"].startswith("2024-01-03")
    assert top["namespace"] == ns and top["metadata"]["tool"]["name"] == "calendar"
    assert {t["name"]: (t["description"], t["parameters"], t["memory_id"]) for t in body["tools"]} == {
        "calendar": ("books meetings", None, ids[2]),
        "search": ("web search", {"q": "string"}, ids[1]),
    }
    page = ok(api, "/v1/ops/procedural", namespace=ns, limit=2)
    rest = ok(api, "/v1/ops/procedural", namespace=ns, limit=2, cursor=page["next_cursor"])
    assert [m["memory_id"] for m in page["memories"] + rest["memories"]] == [ids[2], ids[1], ids[0]]


# --------------------------------------------------------------------------- pipeline


def test_pipeline_queue_figures_come_from_sqs(api, ns, env, db_conn):
    client = sqs(env)
    queue, dlq = env["sqs"].queue_url, env["sqs"].dlq_url
    before = ok(api, "/v1/ops/pipeline")["queue"]
    assert before["available"] is True and before["scope"] == "service"
    for i in range(3):
        client.send_message(QueueUrl=queue, MessageBody=f'{{"test": "{ns}", "n": {i}}}')
    client.send_message(QueueUrl=dlq, MessageBody=f'{{"test": "{ns}", "poison": true}}')
    after = ok(api, "/v1/ops/pipeline")["queue"]
    assert after["depth"] == before["depth"] + 3
    assert after["dead_lettered"] == before["dead_lettered"] + 1
    assert ok(api, "/v1/ops/stats")["queue_depth"] == after["depth"]

    got = client.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    leased = ok(api, "/v1/ops/pipeline")["queue"]
    assert leased["depth"] == after["depth"] - 1 and leased["in_flight"] == after["in_flight"] + 1
    client.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    released = ok(api, "/v1/ops/pipeline")["queue"]
    assert (released["depth"], released["in_flight"]) == (after["depth"], after["in_flight"])
    remove_own_messages(client, [queue, dlq], marker=ns)

    # The namespace's own view comes from the database.
    db_conn.execute(
        "INSERT INTO sessions (namespace, session_id, turn_count, condensed_through_turn, condense_enqueued_turn)"
        " VALUES (%s, 'waiting', 25, 0, 20), (%s, 'idle', 5, 0, 0)",
        (ns, ns),
    )
    add_condensation(db_conn, ns, "waiting", "pending", None, None)
    db_conn.execute(
        "INSERT INTO audit_events (namespace, action, details) VALUES (%s, 'decay', '{\"decayed\": 4, \"expired\": 1}')",
        (ns,),
    )
    body = ok(api, "/v1/ops/pipeline", namespace=ns)
    assert body["namespace"] == ns and body["pending_sessions"] == 1
    assert body["condensations_by_status"] == {"pending": 1, "done": 0, "failed": 0}
    assert [c["session_id"] for c in body["recent_condensations"]] == ["waiting"]
    assert [r["details"] for r in body["recent_decay_runs"]] == [{"decayed": 4, "expired": 1}]


def test_pipeline_reports_an_unreachable_queue_without_failing(api, ns, db_conn):
    add_condensation(db_conn, ns, "s", "done", 300, 100)
    with env_override(MEMOS_AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", AWS_MAX_ATTEMPTS="1"):
        status, body, _ = get(api, "/v1/ops/pipeline", namespace=ns)
        stats = ok(api, "/v1/ops/stats", namespace=ns)
    assert status == 200
    assert body["queue"]["available"] is False and "unreachable" in body["queue"]["detail"]
    assert body["queue"]["depth"] is None and body["queue"]["dead_lettered"] is None
    assert len(body["recent_condensations"]) == 1
    assert stats["queue_depth"] is None and stats["tokens"]["condensations"]["tokens_in"] == 300


def test_pipeline_without_a_configured_queue_reports_null_depth(api, ns):
    with env_override(MEMOS_CONDENSE_QUEUE_URL=None, MEMOS_CONDENSE_DLQ_URL=None):
        body = ok(api, "/v1/ops/pipeline", namespace=ns)
        stats = ok(api, "/v1/ops/stats", namespace=ns)
    assert body["queue"] == {
        "available": False,
        "scope": "service",
        "depth": None,
        "in_flight": None,
        "dead_lettered": None,
        "detail": "no condensation queue is configured",
    }
    assert stats["queue_depth"] is None


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/ops/audit", {"cursor": "not-a-cursor"}, 400, "bad_request"),
        ("/v1/ops/condensations", {"cursor": "bm9wZQ"}, 400, "bad_request"),
        ("/v1/ops/audit", {"limit": "0"}, 422, "validation_error"),
        ("/v1/ops/audit", {"limit": "501"}, 422, "validation_error"),
        ("/v1/ops/context_packs", {"limit": "0"}, 422, "validation_error"),
        ("/v1/ops/pipeline", {"limit": "many"}, 422, "validation_error"),
        ("/v1/ops/audit", {"since": "2024-05-01T10:00:00"}, 422, "validation_error"),
        ("/v1/ops/audit", {"until": "yesterday"}, 422, "validation_error"),
        ("/v1/ops/audit", {"action": "explode"}, 422, "validation_error"),
        ("/v1/ops/audit", {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, 422, None),
        ("/v1/ops/stats", {"namespace": "-bad name"}, 422, "validation_error"),
        ("/v1/ops/context_packs", {"include_pack": "maybe"}, 422, "validation_error"),
    ],
)
def test_bad_query_parameters_are_4xx_in_the_error_shape(api, path, params, status, code):
    got, body, headers = get(api, path, **params)
    assert_error(got, body, status, code)
    assert headers["x-request-id"]


def test_a_cursor_from_another_list_is_rejected(api, ns, db_conn):
    for i in range(2):
        add_condensation(db_conn, ns, "s", "done", 10, 5, (i * 10 + 1, i * 10 + 10))
    cursor = ok(api, "/v1/ops/condensations", namespace=ns, limit=1)["next_cursor"]
    assert cursor
    status, body, _ = get(api, "/v1/ops/context_packs", namespace=ns, cursor=cursor)
    assert_error(status, body, 400, "bad_request")
    assert body["error"]["message"] == "invalid cursor"
