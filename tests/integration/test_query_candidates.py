"""Where query candidates come from: impact-ordered postings (lexical), exact distance or the
namespace's own HNSW index (vector), and access feedback applied after the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from memos.retrieval import ann
from memos.store import ann as ann_store


def ingest(api, ns, texts, session="s1"):
    items = [{"session_id": session, "role": "user", "text": t} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def query(api, ns, text, **extra):
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": text, **extra})
    assert status == 200, body
    return body


def lexical_score(body, memory_id):
    return next((r["components"]["lexical"] for r in body["results"] if r["memory_id"] == memory_id), None)


def test_a_rare_word_finds_its_memory_through_the_postings(api, ns, db_conn):
    filler = [f"We talked about the weather and lunch plans number {i}" for i in range(60)]
    ids = ingest(api, ns, [*filler, "The locksmith code for the shed is zanzibar"])
    rows = db_conn.execute(
        "SELECT term FROM postings WHERE namespace = %s AND memory_id = %s ORDER BY term", (ns, ids[-1])
    ).fetchall()
    assert {"zanzibar", "locksmith", "shed"} <= {r["term"] for r in rows}
    body = query(api, ns, "zanzibar")
    assert body["results"][0]["memory_id"] == ids[-1]
    assert lexical_score(body, ids[-1]) > 0


def test_chinese_text_is_found_by_its_characters(api, ns):
    ids = ingest(api, ns, ["我喜欢喝绿茶", "明天去北京出差", "The meeting moved to Tuesday"])
    body = query(api, ns, "北京")
    assert body["results"][0]["memory_id"] == ids[1]
    assert lexical_score(body, ids[1]) > 0


def test_an_edited_memory_is_found_by_its_new_words_not_its_old_ones(api, ns, db_conn):
    (mid,) = ingest(api, ns, ["The spare key is under the flowerpot"])
    status, _, _ = api.call(
        "PATCH", f"/v1/memories/{mid}", {"text": "The spare key is with the neighbour Ingrid"}
    )
    assert status == 200
    terms = {
        r["term"]
        for r in db_conn.execute(
            "SELECT term FROM postings WHERE namespace = %s AND memory_id = %s", (ns, mid)
        )
    }
    assert "ingrid" in terms and "flowerpot" not in terms
    df = {
        r["term"]: r["df"]
        for r in db_conn.execute("SELECT term, df FROM term_stats WHERE namespace = %s", (ns,)).fetchall()
    }
    assert df.get("ingrid") == 1 and "flowerpot" not in df


def test_forgetting_a_memory_removes_its_postings(api, ns, db_conn):
    ids = ingest(api, ns, ["My locker combination is 4711 at the gym", "I like rainy days"])
    status, _, _ = api.call("DELETE", f"/v1/memories/{ids[0]}")
    assert status == 204
    left = db_conn.execute(
        "SELECT count(*) AS n FROM postings WHERE namespace = %s AND memory_id = %s", (ns, ids[0])
    ).fetchone()
    assert left["n"] == 0
    kept = db_conn.execute(
        "SELECT count(*) AS n FROM postings WHERE namespace = %s AND memory_id = %s", (ns, ids[1])
    ).fetchone()
    assert kept["n"] > 0


def test_session_scope_finds_its_session_even_when_other_sessions_hold_the_word(api, ns):
    ingest(api, ns, [f"Order {i} of blue paint arrived" for i in range(40)], session="other")
    (mine,) = ingest(api, ns, ["The blue paint for the kitchen is out of stock"], session="mine")
    body = query(api, ns, "blue paint", scope="session", session_id="mine")
    assert [r["memory_id"] for r in body["results"]] == [mine]


def _indexes(db_conn, ns):
    return db_conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE %s",
        (ann_store.index_name(ns) + "%",),
    ).fetchall()


def _registered(db_conn, ns):
    row = db_conn.execute("SELECT index_name FROM ann_indexes WHERE namespace = %s", (ns,)).fetchone()
    return row["index_name"] if row else None


@pytest.fixture
def big_ns(api, ns):
    texts = [
        f"Note {i}: the {['red', 'green', 'blue', 'amber'][i % 4]} folder holds invoice {i}"
        for i in range(150)
    ]
    ids = ingest(api, ns, texts)
    return ns, ids


def test_a_namespace_past_the_threshold_gets_its_own_index_and_the_same_answers(api, big_ns, db_conn):
    ns, ids = big_ns
    before = query(api, ns, "which folder holds invoice 17", top_k=5)
    assert _indexes(db_conn, ns) == []
    report = ann.maintain(min_memories=100)
    assert ns in report["built"]
    assert [r["indexname"] for r in _indexes(db_conn, ns)] == [_registered(db_conn, ns)]
    after = query(api, ns, "which folder holds invoice 17", top_k=5)
    # 150 memories: the graph search finds the same nearest memories as exact distance did.
    assert [r["memory_id"] for r in after["results"]] == [r["memory_id"] for r in before["results"]]
    assert ids[17] in [r["memory_id"] for r in after["results"]]
    # A namespace below the threshold gets none; a second pass builds nothing new.
    assert ns not in ann.maintain(min_memories=100)["built"]


def test_the_query_uses_the_namespace_index_once_built(api, big_ns, db_conn):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, _ = big_ns
    ann.maintain(min_memories=100)
    req = QueryRequest(namespace=ns, query="green folder")
    qvec = get_embedder().embed([req.query])[0]
    with db.connection() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")  # the table is small; show which index serves
        conn.execute("SET LOCAL enable_bitmapscan = off")
        rows = candidates.fetch(conn, req, qvec, 10, [], None, ann_index=ann_store.graph_of(conn, ns))
        plan = conn.execute(
            "EXPLAIN SELECT id FROM memories WHERE namespace = %s"
            f" AND {ann_store.in_graph_sql(ann_store.graph_of(conn, ns))}"
            f" ORDER BY {ann_store.walk_order(ann_store.graph_of(conn, ns), '%s') or 'embedding <=> %s'} LIMIT 10",
            (ns, qvec),
        ).fetchall()
        conn.rollback()
    assert len(rows) == 10
    assert any(_registered(db_conn, ns) in r["QUERY PLAN"] for r in plan)


def test_a_small_indexed_namespace_is_walked_with_a_shorter_ef_search_for_its_transaction_only(api, big_ns):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, _ = big_ns
    ann.maintain(min_memories=100)
    assert ann.ef_search_for(150) == ann_store.SMALL_INDEX_EF_SEARCH == 80
    assert ann.ef_search_for(ann_store.SMALL_INDEX + 1) is None  # the session's 160
    req = QueryRequest(namespace=ns, query="green folder")
    qvec = get_embedder().embed([req.query])[0]
    with db.connection() as conn:
        graph = ann_store.graph_of(conn, ns)
        rows = candidates.fetch(conn, req, qvec, 10, [], None, ann_index=graph, ef_search=80)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "80"
        # The index statement is planned without sorts; the transaction's later statements sort again.
        assert conn.execute("SHOW enable_sort").fetchone()["enable_sort"] == "on"
        conn.commit()
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "160"
        # Exact distance (no index, or a session scope) leaves the setting alone.
        candidates.fetch(conn, req, qvec, 10, [], None, ann_index=None, ef_search=80)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "160"
        conn.rollback()
    assert len(rows) == 10


def test_a_halfvec_graph_built_with_the_longer_construction_walk_is_searched_with_a_shorter_walk(
    api, big_ns, db_conn
):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, _ = big_ns
    ann.maintain(min_memories=100)
    name = _registered(db_conn, ns)
    definition = db_conn.execute("SELECT pg_get_indexdef(%s::regclass) AS d", (name,)).fetchone()["d"]
    declared = db_conn.execute(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute"
        " WHERE attrelid = 'memories'::regclass AND attname = 'embedding'"
    ).fetchone()["t"]  # vector(<dim>)
    dim = int(declared.split("(")[1].rstrip(")"))
    assert "ef_construction='128'" in definition.replace(" ", "")
    assert f"halfvec({dim})" in definition and "halfvec_cosine_ops" in definition
    req = QueryRequest(namespace=ns, query="green folder")
    qvec = get_embedder().embed([req.query])[0]
    with db.connection() as conn:
        exact = conn.execute(
            "SELECT id FROM memories WHERE namespace = %s ORDER BY embedding <=> %s LIMIT 10", (ns, qvec)
        ).fetchall()
        graph = ann_store.graph_of(conn, ns)
        assert graph is not None and graph.ef_construction == 128 and graph.half_dim == dim
        assert graph.ef_search == 140
        # No size rule given (a namespace past SMALL_INDEX): the graph's own walk, for the transaction.
        rows = candidates.fetch(conn, req, qvec, 10, [], None, ann_index=graph)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "140"
        conn.rollback()
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "160"
    # 150 memories: the walk over 16-bit floats returns the exact nearest, ranked by exact distance.
    assert [r["id"] for r in rows] == [r["id"] for r in exact]
    # An index built before (pgvector's default ef_construction, the full vector) keeps the exact
    # expression and the session's walk.
    db_conn.execute(f'DROP INDEX "{name}"')
    db_conn.execute(
        f'CREATE INDEX "{name}" ON memories USING hnsw (embedding vector_cosine_ops) WHERE namespace = %s'.replace(
            "%s", f"'{ns}'"
        )
    )
    db_conn.execute("UPDATE ann_indexes SET graph_through = NULL WHERE namespace = %s", (ns,))
    with db.connection() as conn:
        graph = ann_store.graph_of(conn, ns)
        assert graph is not None and graph.ef_construction == 64 and graph.half_dim is None
        assert graph.ef_search is None and ann_store.walk_order(graph, "%(qvec)s") is None
        rows = candidates.fetch(conn, req, qvec, 10, [], None, ann_index=graph)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "160"
        conn.rollback()
    assert [r["id"] for r in rows] == [r["id"] for r in exact]


def test_deleting_the_namespace_lets_maintenance_drop_its_index(api, big_ns, db_conn):
    ns, _ = big_ns
    ann.maintain(min_memories=100)
    status, _, _ = api.call("DELETE", f"/v1/namespaces/{ns}", {"confirm": True})
    assert status in (200, 204)
    report = ann.maintain(min_memories=100)
    assert ns in report["dropped"]
    assert _indexes(db_conn, ns) == []


def test_the_migration_backfill_rebuilds_the_postings_ingest_wrote(api, ns, db_conn):
    from memos.store import db, postings

    ingest(api, ns, ["Grandma's recipe needs cardamom", "The cardamom jar is empty", "Buy oat milk"])
    select = "SELECT memory_id, term, impact FROM postings WHERE namespace = %s ORDER BY 1, 2"
    written = db_conn.execute(select, (ns,)).fetchall()
    db_conn.execute("DELETE FROM postings WHERE namespace = %s", (ns,))
    with db.connection() as conn:
        assert postings.backfill(conn, batch=2) >= 3
        conn.commit()
    assert db_conn.execute(select, (ns,)).fetchall() == written
    # Run again (a retried migration): nothing is doubled.
    with db.connection() as conn:
        postings.backfill(conn)
        conn.commit()
    assert db_conn.execute(select, (ns,)).fetchall() == written


def test_an_index_that_went_away_is_built_again_by_the_next_maintenance(api, big_ns, db_conn):
    ns, _ = big_ns
    ann.maintain(min_memories=100)
    # What a dimension change does to it: the index goes with the old column.
    db_conn.execute(f'DROP INDEX "{_registered(db_conn, ns)}"')
    assert _indexes(db_conn, ns) == []
    assert ns in ann.maintain(min_memories=100)["built"]
    assert [r["indexname"] for r in _indexes(db_conn, ns)] == [_registered(db_conn, ns)]


def test_the_first_reads_return_the_space_embedder_the_query_terms_statistics_and_named_entities(api, ns):
    from memos.embeddings import space
    from memos.governance.entities import names_to_look_up, query_entities
    from memos.store import db, first_reads

    ingest(api, ns, ["I moved to Berlin with Zoe", "Berlin is cold in winter", "The dentist is on Friday"])
    question = "Did Zoe like Berlin?"
    with db.connection() as conn:
        first = first_reads.read(conn, ns, ["berlin", "dentist", "absent"], names_to_look_up(question))
        assert space.resolved(conn, first.space).dim == space.active(conn).dim
        # The pipelined entity read finds what the entity lookup on its own finds.
        assert set(first.known.values()) == query_entities(conn, ns, question) == {"zoe", "berlin"}
    docs, total_terms, df = first.counts
    assert docs == 3
    assert df == {"berlin": 2, "dentist": 1}  # a term no memory has is not listed
    # move berlin zoe / berlin cold winter / dentist friday: 8 content terms
    assert total_terms == 8
    assert first.summary is None  # no session asked
    with db.connection() as conn:
        empty = first_reads.read(conn, ns + "-none", ["berlin"], ["zoe"], session_id="s1")
    assert empty.counts == (0, 0, {})
    assert empty.known == {}
    assert empty.summary is None  # a session without a finished condensation


def test_scoring_reads_stored_terms_that_equal_the_tokenised_text_and_give_the_same_scores(api, ns, db_conn):
    from memos.kernel.text import content_terms, indexed_text

    items = [
        {
            "session_id": "s1",
            "role": "user",
            "text": "I adopted a puppy named Biscuit",
            "metadata": {"speaker": "Ana"},
        },
        {"session_id": "s1", "role": "user", "text": "Moving to Lisbon next spring for the new job"},
        {"session_id": "s1", "role": "user", "text": "明天去北京出差，见客户"},
        {"session_id": "s1", "role": "user", "text": "Is it there? It is what it is"},  # stopwords only
        {"session_id": "s1", "role": "user", "text": "The puppy chewed my running shoes, shoes again!"},
    ]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    ids = [m["memory_id"] for m in body["memories"]]
    edited, forgotten = ids[1], ids[4]
    new_text = "Moving to Porto next summer for the new job"
    assert api.call("PATCH", f"/v1/memories/{edited}", {"text": new_text})[0] == 200
    assert api.call("DELETE", f"/v1/memories/{forgotten}")[0] in (200, 204)
    texts = {mid: (it["text"], it.get("metadata")) for mid, it in zip(ids, items, strict=True)}
    texts[edited] = (new_text, None)

    stored = {
        str(r["memory_id"]): r["terms"]
        for r in db_conn.execute(
            "SELECT memory_id, terms FROM memory_terms WHERE memory_id = ANY(%s::uuid[])", (ids,)
        )
    }
    assert set(stored) == set(ids) - {forgotten}  # a forgotten memory's terms go with it
    for mid, terms in stored.items():
        assert terms == list(dict.fromkeys(content_terms(indexed_text(*texts[mid])))), texts[mid]
    assert stored[ids[3]] == []

    questions = ["What is the name of Ana's puppy?", "Where is the new job?", "北京", "running shoes"]
    with_stored = [query(api, ns, q, include_filtered=True) for q in questions]
    db_conn.execute("DELETE FROM memory_terms WHERE memory_id = ANY(%s::uuid[])", (ids,))
    tokenised = [query(api, ns, q, include_filtered=True) for q in questions]

    def ranking(body):
        return [(r["memory_id"], r["score"], r["components"]) for r in body["results"]], body["filtered"]

    for a, b in zip(with_stored, tokenised, strict=True):
        assert ranking(a) == ranking(b)
    assert any(r["components"]["lexical"] > 0 for body in with_stored for r in body["results"])


@pytest.mark.parametrize("indexed", [False, True])
def test_candidate_rows_carry_stored_terms_and_evidence_counts_and_stay_the_same_once_prepared(
    api, big_ns, db_conn, indexed
):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, ids = big_ns
    ingest(api, ns, ["Zoe keeps the amber folder in Berlin", "Zoe and Mia moved the green folder to Berlin"])
    if indexed:
        ann.maintain(min_memories=100)
    question = "where does Zoe keep the amber folder in Berlin"
    qvec = get_embedder().embed([question])[0]
    req = QueryRequest(namespace=ns, query=question)
    # Expected values read from the tables by the test itself.
    terms = {r["memory_id"]: r["terms"] for r in db_conn.execute("SELECT memory_id, terms FROM memory_terms")}
    evidence: dict = {}
    for r in db_conn.execute(
        "SELECT evidence FROM entities WHERE namespace = %s AND normalized = ANY(%s)", (ns, ["zoe", "berlin"])
    ):
        for mid in r["evidence"]:
            evidence[mid] = evidence.get(mid, 0) + 1
    assert evidence, "the entities the question names have evidence"
    nearest = [
        r["id"]
        for r in db_conn.execute(
            "SELECT id FROM memories WHERE namespace = %s ORDER BY embedding <=> %s::float8[]::vector, id LIMIT 10",
            (ns, [float(x) for x in qvec]),
        )
    ]
    runs = []
    with db.connection() as conn:
        for _ in range(8):  # psycopg prepares a statement at its 6th run: then its generic plan serves
            rows = candidates.fetch(
                conn, req, qvec, 10, [("amber", 2.0), ("berlin", 3.0)], None,
                ann_index=ann_store.graph_of(conn, ns) if indexed else None,
                entity_names=["berlin", "zoe"], ef_search=80,
            )  # fmt: skip
            runs.append(sorted((str(r["id"]), r["vsim"], tuple(r["terms"]), r["entity_n"]) for r in rows))
            assert conn.execute("SHOW plan_cache_mode").fetchone()["plan_cache_mode"] == "auto"
            conn.commit()
    assert all(run == runs[0] for run in runs[1:])
    for mid, _vsim, row_terms, entity_n in runs[0]:
        assert list(row_terms) == terms[UUID(mid)]
        assert entity_n == evidence.get(UUID(mid), 0)
    found = {UUID(mid) for mid, *_ in runs[0]}
    assert (
        set(nearest[:5]) <= found
    )  # the nearest by exact distance come (the graph walk may differ at the tail)
    amber = {UUID(ids[i]) for i in range(150) if i % 4 == 3}
    assert found & amber  # the lexical branch's rare word


def test_the_indexed_statement_finds_the_lexical_rows_exact_search_finds_and_both_put_their_settings_back(
    api, big_ns
):
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, ids = big_ns
    ann.maintain(min_memories=100)
    question = "which amber folder holds invoice 17"
    qvec = get_embedder().embed([question])[0]
    req = QueryRequest(namespace=ns, query=question)
    amber = {UUID(ids[i]) for i in range(150) if i % 4 == 3}
    with db.connection() as conn:
        sort = conn.execute("SHOW enable_sort").fetchone()["enable_sort"]
        workers = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[
            "max_parallel_workers_per_gather"
        ]
        graph = ann_store.graph_of(conn, ns)
        assert graph is not None
        for _ in range(7):  # prepared from the 6th run on: its generic plan too
            found = {}
            for side, index in (("indexed", graph), ("exact", None)):
                rows = candidates.fetch(
                    conn, req, qvec, 40, [("amber", 2.0)], None, ann_index=index, ef_search=80
                )
                found[side] = sorted((r["id"], r["vsim"]) for r in rows if r["src"] == "lexical")
                # The planner's settings are back as they were; the walk's ef_search stays set for
                # the transaction (the second round walks with it).
                assert conn.execute("SHOW enable_sort").fetchone()["enable_sort"] == sort == "on"
                assert conn.execute("SHOW plan_cache_mode").fetchone()["plan_cache_mode"] == "auto"
                # The exact path's (no sequential scan, no parallel workers) too.
                assert conn.execute("SHOW enable_seqscan").fetchone()["enable_seqscan"] == "on"
                shown = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()
                assert shown["max_parallel_workers_per_gather"] == workers == "2"
                if index is not None:
                    assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "80"
                assert any(r["src"] == "vector" for r in rows)
            # Every amber memory (fewer than the limit, so no tie decides which), found by both.
            assert found["indexed"] == found["exact"]
            assert {mid for mid, _ in found["indexed"]} == amber
            conn.commit()


def test_a_query_embedded_with_an_embedder_the_space_does_not_hold_is_embedded_again(api, ns, monkeypatch):
    from memos.embeddings import HashingEmbedder, space

    ingest(api, ns, ["The green folder holds invoice 17", "Lunch is at noon", "Zoe moved to Berlin"])
    question = "which folder holds the invoice"
    before = query(api, ns, question, include_filtered=True)
    # What a process resolving another dimension would embed with (around a dimension change).
    wrong = HashingEmbedder(get_dim(api, ns) + 16)
    monkeypatch.setattr(space, "expected", lambda: wrong)
    after = query(api, ns, question, include_filtered=True)

    def ranking(body):
        return [(r["memory_id"], r["score"], r["components"]) for r in body["results"]], body["filtered"]

    assert ranking(after) == ranking(before)
    assert before["results"] and before["results"][0]["text"] == "The green folder holds invoice 17"


def get_dim(api, ns):
    from memos.store import db

    with db.connection() as conn:
        return conn.execute("SELECT dim FROM embedding_space").fetchone()["dim"]


def test_the_exact_retrievers_return_the_nearest_rows_whole_with_their_similarity(api, big_ns, db_conn):
    """The exact vector retriever (a namespace without its own index) and the temporal one compute
    distances in a narrow pass and read the chosen rows by primary key: the same rows, columns and
    similarities as exact distance over whole rows (computed here by the test)."""
    from datetime import UTC, datetime, timedelta

    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, ids = big_ns
    earlier = ids[::3]  # a third of the namespace happened ten days ago
    db_conn.execute(
        "UPDATE memories SET occurred_at = now() - interval '10 days' WHERE id = ANY(%s::uuid[])", (earlier,)
    )
    db_conn.execute(  # metadata to carry (as JSON text, parsed on use): nested, unicode, numbers
        "UPDATE memories SET metadata = %s::jsonb WHERE id = ANY(%s::uuid[])",
        (
            '{"speaker": "Ana", "tags": ["a", {"b": null}], "n": 42.5, "big": 12345678901234567890, "s": "é\\"x"}',
            ids[::2],
        ),
    )
    question = "which amber folder holds invoice 42"
    qvec = get_embedder().embed([question])[0]
    period = (datetime.now(UTC) - timedelta(days=11), datetime.now(UTC) - timedelta(days=9))
    columns = candidates.ROW_COLUMNS

    def expected(extra: str, params: tuple) -> list[dict]:
        return db_conn.execute(
            f"SELECT {columns}, 1 - (embedding <=> %s::float8[]::vector) AS vsim FROM memories"
            f" WHERE namespace = %s AND status = 'active'{extra} ORDER BY vsim DESC LIMIT 10",
            ([float(x) for x in qvec], ns, *params),
        ).fetchall()

    want = {
        "vector": expected("", ()),
        "temporal": expected(" AND occurred_at >= %s AND occurred_at < %s", period),
    }
    assert {r["id"] for r in want["temporal"]} <= {UUID(i) for i in earlier}
    with db.connection() as conn:
        rows = candidates.fetch(
            conn, QueryRequest(namespace=ns, query=question), qvec, 10, [], period, ann_index=None
        )
        conn.rollback()
    for src, rows_wanted in want.items():
        got = sorted((r for r in rows if r["src"] == src), key=lambda r: -r["vsim"])
        assert [r["vsim"] for r in got] == pytest.approx([r["vsim"] for r in rows_wanted], abs=1e-9)
        by_id = {
            r["id"]: r
            for r in db_conn.execute(
                f"SELECT {columns} FROM memories WHERE id = ANY(%s::uuid[])", ([r["id"] for r in got],)
            )
        }
        for r in got:  # every column of the row, as stored (the metadata as its JSON text, parsed on use)
            assert isinstance(r["metadata"], str)
            assert candidates.metadata_of(r) is r["metadata"]  # parsed once, kept in the row
            assert {k: r[k] for k in by_id[r["id"]]} == by_id[r["id"]]


@pytest.mark.parametrize(("days", "in_range"), [((11, 9), 10), ((30, 20), 0), ((400, -1), 10)])
def test_the_exact_vector_and_temporal_retrievers_keep_to_the_scope_and_filters_for_any_range(
    api, big_ns, db_conn, days, in_range
):
    """A namespace without its own graph, a session scope and a role filter: for a range holding a
    third, none or all of the rows, the vector and the temporal retriever each return the rows the
    test's own exact statement ranks first under the same filters (and the range)."""
    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, ids = big_ns
    db_conn.execute(
        "UPDATE memories SET occurred_at = now() - interval '10 days' WHERE id = ANY(%s::uuid[])", (ids[::3],)
    )
    db_conn.execute(  # half of the rows move to another session, a fifth to another role
        "UPDATE memories SET session_id = 's2' WHERE id = ANY(%s::uuid[])", (ids[1::2],)
    )
    db_conn.execute("UPDATE memories SET role = 'assistant' WHERE id = ANY(%s::uuid[])", (ids[::5],))
    question = "which amber folder holds invoice 42"
    qvec = get_embedder().embed([question])[0]
    now = datetime.now(UTC)
    period = (now - timedelta(days=days[0]), now - timedelta(days=days[1]))
    req = QueryRequest.model_validate(
        {
            "namespace": ns,
            "query": question,
            "scope": "session",
            "session_id": "s1",
            "filters": {"roles": ["user"]},
        }
    )

    def expected(extra: str, params: tuple) -> list[tuple]:
        return [
            (r["id"], round(r["vsim"], 9))
            for r in db_conn.execute(
                "SELECT id, 1 - (embedding <=> %s::float8[]::vector) AS vsim FROM memories WHERE namespace = %s"
                f" AND status = 'active' AND session_id = 's1' AND role = 'user'{extra} ORDER BY vsim DESC LIMIT 10",
                ([float(x) for x in qvec], ns, *params),
            )
        ]

    want = {
        "vector": expected("", ()),
        "temporal": expected(" AND occurred_at >= %s AND occurred_at < %s", period),
    }
    assert (len(want["vector"]), len(want["temporal"])) == (10, in_range)
    with db.connection() as conn:
        rows = candidates.fetch(conn, req, qvec, 10, [], period, ann_index=None)
        conn.rollback()
    for src, rows_wanted in want.items():
        got = sorted(((r["id"], round(r["vsim"], 9)) for r in rows if r["src"] == src), key=lambda t: -t[1])
        assert got == rows_wanted


def test_the_range_share_reads_the_namespace_span_from_one_index_entry_each_way(api, big_ns, db_conn):
    """Whether a range is wide starts from the namespace's time span: its two endpoints, each the
    first entry of the namespace's index one way, read once, also under a generic plan (as the
    candidate statement runs); not an aggregate over every entry."""
    import json as _json

    from memos.store import candidates

    ns, _ids = big_ns
    db_conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        (plan,) = (
            db_conn.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) WITH {candidates.wide_range_sql()} SELECT wide FROM span",
                {"ns": ns, "t0": datetime(2023, 5, 1, tzinfo=UTC), "t1": datetime(2023, 6, 1, tzinfo=UTC)},
            )
            .fetchone()
            .values()
        )
    finally:
        db_conn.execute("RESET plan_cache_mode")
    plan = plan if isinstance(plan, list) else _json.loads(plan)

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    scans = [
        n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "memories" and n.get("Actual Loops")
    ]
    assert len(scans) == 2  # the two endpoints, once each (the count does not run: a narrow range)
    assert all(n["Actual Rows"] == 1 for n in scans)


@pytest.mark.parametrize("layout", ["wide", "narrow", "burst"])
def test_the_temporal_retriever_walks_the_graph_only_over_a_range_holding_many_rows_and_finds_the_exact_nearest(
    api, big_ns, db_conn, monkeypatch, layout
):
    """With the namespace's graph, the time range's nearest come from the graph walked with the range
    as a filter when the range holds at least the bound (here max(20, 0.3 x 150) = 45 rows), else
    from exact distance over its rows; either way the rows exact distance over the range gives (150
    memories: the walk misses none). ``burst``: the range covers most of the namespace's time span
    but few of its rows (they sit at both ends): the span says wide, the count says no."""
    import psycopg

    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.store import candidates, db

    ns, ids = big_ns
    now = datetime.now(UTC)
    hours = {  # each memory's age in hours
        "wide": list(range(150)),
        "narrow": list(range(150)),
        "burst": [0] * 70 + [150] * 70 + list(range(40, 140, 10)),
    }[layout]
    db_conn.execute(
        "UPDATE memories m SET occurred_at = %s - make_interval(hours => u.h)"
        " FROM unnest(%s::uuid[], %s::int[]) u(id, h) WHERE m.id = u.id",
        (now, ids, hours),
    )
    period = {
        "wide": (now - timedelta(hours=99.5), now + timedelta(minutes=1)),  # 100 rows
        "narrow": (now - timedelta(hours=19.5), now + timedelta(minutes=1)),  # 20 rows
        "burst": (now - timedelta(hours=145), now - timedelta(hours=5)),  # 10 rows, 93 % of the span
    }[layout]
    in_range = [
        i for i, h in zip(ids, hours, strict=True) if period[0] <= now - timedelta(hours=h) < period[1]
    ]
    assert len(in_range) == {"wide": 100, "narrow": 20, "burst": 10}[layout]
    ann.maintain(min_memories=100)
    monkeypatch.setattr(candidates, "RANGE_WALK_MIN", 20)
    monkeypatch.setattr(candidates, "RANGE_WALK_SHARE", 0.3)
    question = "which amber folder holds invoice 42"
    qvec = get_embedder().embed([question])[0]
    want = db_conn.execute(
        "SELECT id, 1 - (embedding <=> %s::float8[]::vector) AS vsim FROM memories WHERE namespace = %s"
        " AND id = ANY(%s::uuid[]) ORDER BY vsim DESC LIMIT 10",
        ([float(x) for x in qvec], ns, in_range),
    ).fetchall()

    statements: list[tuple] = []
    execute = psycopg.Cursor.execute  # what Connection.execute and the candidate cursors call

    def spy(self, query, params=None, *a, **k):
        statements.append((query, params))
        return execute(self, query, params, *a, **k)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    with db.connection() as conn:
        graph = ann_store.graph_of(conn, ns)
        wide = conn.execute(
            f"WITH {candidates.wide_range_sql()} SELECT wide FROM span",
            {"ns": ns, "t0": period[0], "t1": period[1]},
        ).fetchone()["wide"]
        statements.clear()
        rows = candidates.fetch(  # with entity names: the statement's two common table expressions
            conn,
            QueryRequest(namespace=ns, query=question),
            qvec,
            10,
            [],
            period,
            ann_index=graph,
            entity_names=["nobody"],
        )
        # The statement again, as the query ran it, under EXPLAIN ANALYZE: which part executed.
        text, params = next((q, p) for q, p in statements if isinstance(q, str) and "'temporal'" in q)
        conn.execute("SET LOCAL enable_sort = off")
        plan = "\n".join(
            r["QUERY PLAN"] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + text, params).fetchall()
        )
        conn.rollback()
    assert wide is (layout == "wide")
    walks = [ln for ln in plan.splitlines() if f"Index Scan using {graph.name}" in ln]
    assert len(walks) == 2  # the vector retriever's walk and the temporal one's
    assert sum("never executed" not in ln for ln in walks) == (2 if layout == "wide" else 1)
    got = sorted((r for r in rows if r["src"] == "temporal"), key=lambda r: -r["vsim"])
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert [r["vsim"] for r in got] == pytest.approx([r["vsim"] for r in want], abs=1e-6)
    assert {r["entity_n"] for r in rows} == {0}
