"""The graph backlog (migration 0013, memos.store.ann): a write into a namespace that has its HNSW
index does not insert into the graph; the query finds such a row by exact distance until background
maintenance moves it into the graph, and finds it the same way after."""

from __future__ import annotations

import threading

import pytest

from memos.retrieval import ann
from memos.store import ann as ann_store

COLOURS = ["red", "green", "blue", "amber"]


def ingest(api, ns, texts, session="s1"):
    items = [{"session_id": session, "role": "user", "text": t} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def query_ids(api, ns, text, top_k=5):
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": text, "top_k": top_k})
    assert status == 200, body
    return [r["memory_id"] for r in body["results"]]


def backlog_ids(db_conn, ns):
    graph = _graph(db_conn, ns)
    rows = db_conn.execute(
        f"SELECT id::text FROM memories WHERE namespace = %s AND {ann_store.backlog_sql(graph)}", (ns,)
    ).fetchall()
    return {r["id"] for r in rows}


def _graph(db_conn, ns):
    return ann_store.graph_of(db_conn, ns)  # with how its index holds the vectors (halfvec or not)


@pytest.fixture
def indexed_ns(api, ns):
    """A namespace of 150 memories with its own index (built as the decay job builds it)."""
    ingest(api, ns, [f"Note {i}: the {COLOURS[i % 4]} folder holds invoice {i}" for i in range(150)])
    assert ns in ann.maintain(min_memories=100)["built"]
    return ns


def fetch(ns, text, graph, limit=10):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    req = QueryRequest(namespace=ns, query=text)
    qvec = get_embedder().embed([text])[0]
    with db.connection() as conn:
        rows = candidates.fetch(conn, req, qvec, limit, [], None, ann_index=graph)
        conn.rollback()
    return [(str(r["id"]), round(float(r["vsim"]), 5)) for r in rows]


def test_rows_written_after_the_build_stay_out_of_the_graph_and_are_found_before_and_after_maintenance(
    api, indexed_ns, db_conn
):
    ns = indexed_ns
    graph = _graph(db_conn, ns)
    assert graph.through is not None
    definition = db_conn.execute("SELECT pg_get_indexdef(%s::regclass) AS d", (graph.name,)).fetchone()["d"]
    assert "in_graph" in definition and "created_at <" in definition
    assert backlog_ids(db_conn, ns) == set()  # every row written before the build is in its graph
    (late,) = ingest(api, ns, ["The lighthouse keeper stores the spare lantern oil in the cellar"])
    assert backlog_ids(db_conn, ns) == {late}
    assert late in query_ids(api, ns, "where is the spare lantern oil kept")
    ann.clear_cache()
    report = ann.maintain(min_memories=100)
    assert report["drained"].get(ns) == 1
    assert backlog_ids(db_conn, ns) == set()
    row = db_conn.execute("SELECT in_graph FROM memories WHERE id = %s", (late,)).fetchone()
    assert row["in_graph"] is True
    assert late in query_ids(api, ns, "where is the spare lantern oil kept")
    assert ns not in ann.maintain(min_memories=100)["drained"]  # nothing left to move


def test_backlog_rows_rank_as_exact_distance_ranks_them(api, indexed_ns, db_conn):
    ns = indexed_ns
    late = set(
        ingest(api, ns, [f"Late note {i}: the {COLOURS[i % 4]} folder holds receipt {i}" for i in range(40)])
    )
    graph = _graph(db_conn, ns)
    for text in ("green folder receipt", "which folder holds invoice 17", "amber receipt 9"):
        with_graph = fetch(ns, text, graph)
        exact = fetch(ns, text, None)
        assert len(with_graph) == len(exact) == 10
        # The backlog part is exact: the backlog rows among the nearest are the same, same order
        # and similarity, as exact distance over the whole namespace gives.
        assert [r for r in with_graph if r[0] in late] == [r for r in exact if r[0] in late]
        assert any(r[0] in late for r in exact) or text == "which folder holds invoice 17"


def test_two_concurrent_drains_move_every_backlog_row_once(api, indexed_ns, db_conn, monkeypatch):
    ns = indexed_ns
    late = set(ingest(api, ns, [f"Backlog row {i} about the {COLOURS[i % 4]} kayak" for i in range(60)]))
    assert backlog_ids(db_conn, ns) == late
    monkeypatch.setattr(ann_store, "DRAIN_BATCH", 7)  # many small batches, interleaved
    start = threading.Barrier(2)
    moved: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            moved.append(ann.drain(ns))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert backlog_ids(db_conn, ns) == set()
    # Every row moved once: the two drains' counts add up to the backlog; a third moves nothing.
    assert sum(moved) == len(late)
    assert ann.drain(ns) == 0
    in_graph = db_conn.execute(
        "SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[]) AND in_graph", (list(late),)
    ).fetchone()
    assert in_graph["n"] == len(late)


def test_a_forgotten_backlog_row_is_not_found_before_or_after_maintenance(api, indexed_ns, db_conn):
    ns = indexed_ns
    keep, gone = ingest(
        api,
        ns,
        ["The piano tuner comes on Thursday mornings", "My piano teacher's phone number is 555 0142"],
    )
    assert {keep, gone} <= backlog_ids(db_conn, ns)
    status, _, _ = api.call("DELETE", f"/v1/memories/{gone}")
    assert status == 204
    found = query_ids(api, ns, "piano teacher phone number", top_k=10)
    assert gone not in found and keep in found
    ann.clear_cache()
    ann.maintain(min_memories=100)
    assert backlog_ids(db_conn, ns) == set()
    found = query_ids(api, ns, "piano teacher phone number", top_k=10)
    assert gone not in found and keep in found
    row = db_conn.execute("SELECT status, text FROM memories WHERE id = %s", (gone,)).fetchone()
    assert row["status"] == "deleted" and row["text"] != "My piano teacher's phone number is 555 0142"


def test_a_large_backlog_is_absorbed_by_a_new_build_that_replaces_the_index(
    api, indexed_ns, db_conn, monkeypatch
):
    ns = indexed_ns
    old = _graph(db_conn, ns)
    late = set(
        ingest(api, ns, [f"Rebuild row {i}: the {COLOURS[i % 4]} canoe paddle {i}" for i in range(50)])
    )
    monkeypatch.setattr(ann_store, "REBUILD_MIN", 20)  # 50 of 200 rows: past 10 % of the namespace
    assert ann.drain(ns) == len(late)
    new = _graph(db_conn, ns)
    assert new.name != old.name and new.through > old.through
    names = {
        r["indexname"]
        for r in db_conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE %s",
            (ann_store.index_name(ns) + "%",),
        )
    }
    assert names == {new.name}  # the old index is gone
    assert backlog_ids(db_conn, ns) == set()
    # The rebuilt graph holds them by its watermark, without a row rewrite.
    rewritten = db_conn.execute(
        "SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[]) AND in_graph", (list(late),)
    ).fetchone()
    assert rewritten["n"] == 0
    ann.clear_cache()
    assert set(query_ids(api, ns, "green canoe paddle", top_k=10)) & late


def test_an_index_from_before_the_backlog_keeps_serving_and_is_rebuilt_with_a_watermark(api, ns, db_conn):
    ids = ingest(api, ns, [f"Old index note {i}: the {COLOURS[i % 4]} tent peg {i}" for i in range(120)])
    legacy = ann_store.index_name(ns)
    # What migration 0013 leaves of an index built before it: predicate on the namespace alone.
    db_conn.execute(
        f'CREATE INDEX "{legacy}" ON memories USING hnsw (embedding vector_cosine_ops)'
        f" WHERE namespace = '{ns}'"
    )
    db_conn.execute(
        "INSERT INTO ann_indexes (namespace, index_name, memories) VALUES (%s, %s, 120)", (ns, legacy)
    )
    ann.clear_cache()
    (late,) = ingest(api, ns, ["The blue tent peg bag is in the car boot"])
    assert late in query_ids(api, ns, "where is the tent peg bag", top_k=10)
    assert ann.drain(ns) == 0  # no backlog to count: it is rebuilt
    graph = _graph(db_conn, ns)
    assert graph.through is not None and graph.name != legacy
    gone = db_conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (legacy,)).fetchone()
    assert gone is None
    ann.clear_cache()
    found = query_ids(api, ns, "where is the tent peg bag", top_k=10)
    assert late in found and set(found) <= {*ids, late}


def test_another_namespace_backlog_never_reaches_the_query(api, indexed_ns):
    ns = indexed_ns
    other = ns + "-other"
    (theirs,) = ingest(api, other, ["The submarine hatch code is 8812"])
    (mine,) = ingest(api, ns, ["The garden hatch code is 1290"])
    found = query_ids(api, ns, "hatch code", top_k=10)
    assert mine in found and theirs not in found


def _condense_event(ns: str, through_turn: int, *bodies: str) -> dict:
    """An SQS event of the condensation job of session s1 through ``through_turn``, after ``bodies``."""
    import json
    import uuid

    job = json.dumps(
        {
            "job_id": f"{ns}/s1/{through_turn}",
            "namespace": ns,
            "session_id": "s1",
            "through_turn": through_turn,
        }
    )
    return {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": body,
                         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "t"},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:memos-condense",
                         "awsRegion": "us-east-1"} for body in (*bodies, job)]}  # fmt: skip


def _turns(db_conn, ns: str) -> int:
    row = db_conn.execute(
        "SELECT turn_count FROM sessions WHERE namespace = %s AND session_id = 's1'", (ns,)
    ).fetchone()
    return int(row["turn_count"])


def test_a_condensation_job_drains_its_namespace_backlog_once_it_passes_the_threshold(
    api, indexed_ns, db_conn, monkeypatch
):
    from functions.condense.handler import handler
    from infra.local.server import lambda_context

    ns = indexed_ns
    late = set(ingest(api, ns, [f"Condense-time row {i}: the {COLOURS[i % 4]} ladder" for i in range(12)]))
    event = _condense_event(ns, _turns(db_conn, ns))

    monkeypatch.setattr(ann, "DRAIN_AT", 13)  # one row short: the job leaves the backlog alone
    assert handler(event, lambda_context("condense")) == {"batchItemFailures": []}
    assert backlog_ids(db_conn, ns) == late
    monkeypatch.setattr(ann, "DRAIN_AT", 12)
    # The same job again (a redelivery): already done, the drain still runs.
    assert handler(event, lambda_context("condense")) == {"batchItemFailures": []}
    assert backlog_ids(db_conn, ns) == set()


def test_the_condensation_drain_keeps_out_of_the_invocation_s_last_seconds(
    api, indexed_ns, db_conn, monkeypatch
):
    from functions.condense.handler import handler
    from infra.local.server import lambda_context

    ns = indexed_ns
    late = set(ingest(api, ns, [f"Late-evening row {i}: the {COLOURS[i % 4]} kettle" for i in range(12)]))
    # A bad record beside the job fails alone; its body names no namespace to drain.
    event = _condense_event(ns, _turns(db_conn, ns), "not json")
    monkeypatch.setattr(ann, "DRAIN_AT", 12)
    short = lambda_context("condense")
    short.get_remaining_time_in_millis = lambda: 9_000  # less than the 10 s kept back
    out = handler(event, short)
    assert out == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert backlog_ids(db_conn, ns) == late  # no time to drain: the scheduled job will
    assert handler(event, lambda_context("condense")) == out
    assert backlog_ids(db_conn, ns) == set()


def test_decay_expires_rows_in_and_out_of_the_graph_alike(api, indexed_ns, db_conn):
    from memos.governance.decay import run_decay

    ns = indexed_ns
    in_graph = db_conn.execute(
        "SELECT id::text FROM memories WHERE namespace = %s AND text LIKE 'Note 17:%%'", (ns,)
    ).fetchone()["id"]
    (late,) = ingest(api, ns, ["Note 917: the green folder holds the expired warranty"])
    assert late in backlog_ids(db_conn, ns) and in_graph not in backlog_ids(db_conn, ns)
    db_conn.execute(
        "UPDATE memories SET expires_at = now() - interval '1 minute' WHERE id = ANY(%s::uuid[])",
        ([in_graph, late],),
    )
    run_decay()
    status = {
        r["id"]: r["status"]
        for r in db_conn.execute(
            "SELECT id::text, status FROM memories WHERE id = ANY(%s::uuid[])", ([in_graph, late],)
        )
    }
    assert status == {in_graph: "expired", late: "expired"}
    for text in ("which folder holds invoice 17", "green folder expired warranty"):
        assert {in_graph, late}.isdisjoint(query_ids(api, ns, text, top_k=10))
    ann.clear_cache()
    ann.maintain(min_memories=100)  # moves the expired row into the graph: still not found
    assert backlog_ids(db_conn, ns) == set()
    assert {in_graph, late}.isdisjoint(query_ids(api, ns, "green folder expired warranty", top_k=10))


def test_a_watermark_cached_from_before_a_rebuild_still_walks_the_new_index_and_misses_nothing(
    api, indexed_ns, db_conn
):
    from memos.embeddings import get_embedder
    from memos.store import db

    ns = indexed_ns
    old = _graph(db_conn, ns)
    late = set(
        ingest(api, ns, [f"Cached-watermark row {i}: the {COLOURS[i % 4]} sailboat" for i in range(30)])
    )
    with db.autocommit_connection() as conn:
        ann_store.build(conn, ns, 180)
    new = _graph(db_conn, ns)
    assert new.through > old.through
    # What a process whose cache still holds the old watermark sends for ten seconds at most: the
    # rows between the two watermarks come from the backlog part (exact), not twice.
    rows = fetch(ns, "blue sailboat", old, limit=40)
    assert len({i for i, _ in rows}) == len(rows)
    exact = fetch(ns, "blue sailboat", None, limit=40)
    assert [r for r in rows if r[0] in late] == [r for r in exact if r[0] in late]
    qvec = get_embedder().embed(["blue sailboat"])[0]
    with db.connection() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_bitmapscan = off")
        plan = conn.execute(
            f"EXPLAIN SELECT id FROM memories WHERE namespace = '{ns}' AND {ann_store.in_graph_sql(old)}"
            f" ORDER BY {ann_store.walk_order(old, '%s') or 'embedding <=> %s'} LIMIT 10",
            (qvec,),
        ).fetchall()
        conn.rollback()
    assert any(new.name in r["QUERY PLAN"] for r in plan)


def test_a_graph_built_with_the_earlier_parameters_is_rebuilt_by_maintenance(api, ns, db_conn, monkeypatch):
    ids = ingest(api, ns, [f"Shelf note {i}: the {COLOURS[i % 4]} box holds cable {i}" for i in range(120)])
    # Built as the code before the halfvec graphs built it: the full vector, ef_construction 64.
    monkeypatch.setattr(ann_store, "HNSW_WITH", "m = 16, ef_construction = 64")
    monkeypatch.setattr(ann_store, "BUILD_HALFVEC", False)
    assert ns in ann.maintain(min_memories=100)["built"]
    old = _graph(db_conn, ns)
    assert (old.ef_construction, old.half_dim, old.outdated) == (64, None, True)
    monkeypatch.undo()

    # Only when a build fits in the time left (here: 120 rows at one row a second, 60 s budget).
    monkeypatch.setattr(ann, "OUTDATED_REBUILD_ROWS_PER_S", 1)
    ann.maintain(min_memories=100, drain_budget_s=60)
    assert _graph(db_conn, ns).name == old.name
    monkeypatch.undo()

    ann.maintain(min_memories=100)
    new = _graph(db_conn, ns)
    assert new.name != old.name and (new.ef_construction, new.half_dim, new.outdated) == (128, 256, False)
    gone = db_conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (old.name,)).fetchone()
    assert gone is None
    ann.maintain(min_memories=100)  # nothing more to do: the rebuilt graph is kept
    assert _graph(db_conn, ns).name == new.name
    ann.clear_cache()
    found = query_ids(api, ns, "which box holds cable 7", top_k=10)
    assert ids[7] in found
