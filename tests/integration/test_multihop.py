"""Multi-hop second round against real PostgreSQL: bridged probes read only the named entity's
evidence in the asked namespace, the query API returns both hops, and plain questions add nothing."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from memos.embeddings import get_embedder
from memos.embeddings.calibration import scale_of
from memos.models import QueryRequest
from memos.retrieval import lexical, multihop
from memos.store import candidates, db, expansion

FILLER = [f"Note {i}: the weather was fine and the train was on time." for i in range(12)]
COUSIN = "My cousin Mia is visiting soon, you will love her."
MIA = "Mia has lived in Lisbon since last month."


def ingest(api, ns, texts, session="s1"):
    items = [{"session_id": session, "role": "user", "text": t} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [UUID(m["memory_id"]) for m in body["memories"]]


def test_a_named_probe_returns_only_that_entitys_evidence_in_the_namespace(api, ns):
    ids = ingest(api, ns, [COUSIN, MIA, *FILLER])
    other = ns + "-other"
    ingest(api, other, ["Mia adopted a cat in Lisbon."])
    qvec = get_embedder().embed(["Where does my cousin live?"])[0]
    with db.connection() as conn:
        rows = expansion.probes_and_parts(
            conn, QueryRequest(namespace=ns, query="Where does my cousin live?"), qvec, [(qvec, "mia")], 10
        )[0]
    assert {r["id"] for r in rows} == {ids[0], ids[1]}  # the two memories that name Mia, no filler
    assert all(r["probe"] == 0 and -1 <= r["vsim"] <= 1 for r in rows)


def test_the_second_hop_is_found_and_never_put_above_the_hop_that_named_it(api, ns):
    ids = ingest(api, ns, [COUSIN, MIA, *FILLER])
    req = QueryRequest(namespace=ns, query="Where does my cousin live now?")
    embedder = get_embedder()
    qvec = embedder.embed([req.query])[0]
    with db.connection() as conn:
        free = expansion.probes_and_parts(conn, req, qvec, [(qvec, None)], 20)[0]
        first = [r for r in free if r["id"] == ids[0]]
        stats = lexical.load_stats(conn, ns, ["cousin", "live"])
        extra = multihop.expand(conn, req, qvec, first, stats, embedder)
    by_id = {r["id"]: r for r in extra}
    assert ids[1] in by_id  # reached through the entity the first hop names
    assert by_id[ids[1]]["vsim"] <= first[0]["vsim"] + 1e-6

    body = api.call("POST", "/v1/query", {"namespace": ns, "query": req.query, "top_k": 3})[1]
    assert {r["memory_id"] for r in body["results"]} >= {str(ids[0]), str(ids[1])}


def test_a_question_without_parts_or_relation_adds_no_rows(api, ns):
    ingest(api, ns, [COUSIN, MIA])
    req = QueryRequest(namespace=ns, query="What did Mia adopt?")
    embedder = get_embedder()
    qvec = embedder.embed([req.query])[0]
    with db.connection() as conn:
        stats = lexical.load_stats(conn, ns, ["mia", "adopt"])
        assert multihop.expand(conn, req, qvec, [], stats, embedder) == []


def test_conjunctive_parts_respect_the_session_scope(api, ns):
    ingest(api, ns, ["I work as a nurse at the clinic.", "Our dog is called Rex."], session="s1")
    ingest(api, ns, ["My sister works as a pilot.", "Her dog is called Bolt."], session="s2")
    req = QueryRequest(
        namespace=ns, query="What is my job, and what is the dog called?", session_id="s1", scope="session"
    )
    embedder = get_embedder()
    qvec = embedder.embed([req.query])[0]
    with db.connection() as conn:
        stats = lexical.load_stats(conn, ns, ["job", "dog"])
        extra = multihop.expand(conn, req, qvec, [], stats, embedder)
    assert extra and {r["session_id"] for r in extra} == {"s1"}


TEACH = "I teach chemistry at the high school downtown."
PARROT = "Our parrot is named Kiwi and talks all day."
CHAT = ["Anyone around this evening?", "What a long week it has been.", "Did you see the match?"]


def test_with_parts_each_candidate_is_as_close_as_its_closest_part(api, ns):
    ids = ingest(api, ns, [TEACH, PARROT, *CHAT, *FILLER])
    question = "What subject do I teach, and what is our parrot named?"
    parts = ["What subject do I teach", "what is our parrot named?"]  # where the splitter cuts
    req = QueryRequest(namespace=ns, query=question)
    embedder = get_embedder()
    scale = scale_of(embedder)
    qvec, *pvecs = embedder.embed([question, *parts])
    with db.connection() as conn:
        first = expansion.probes_and_parts(conn, req, qvec, [(qvec, None)], 20)[0]  # a first round
        stats = lexical.load_stats(conn, ns, ["subject", "teach", "parrot", "named"])
        extra = multihop.expand(conn, req, qvec, first, stats, embedder)
        cos = {
            (mid, i): conn.execute(
                "SELECT 1 - (embedding <=> %s) AS c FROM memories WHERE id = %s", (pvec, mid)
            ).fetchone()["c"]
            for mid in ids
            for i, pvec in enumerate(pvecs)
        }
    by_id = {r["id"]: r for r in extra}
    assert {r["id"] for r in first} <= set(by_id)  # the first round's rows are re-measured too
    question_value = scale.for_query(qvec)
    for mid in ids:
        if mid in by_id:
            expected = max(scale.for_query(pvec)(cos[mid, i]) for i, pvec in enumerate(pvecs))
            assert abs(question_value(float(by_id[mid]["vsim"])) - expected) < 1e-3, mid
    # Each part's own evidence is its part's closest memory, so it outranks the small talk.
    ranked = [r["id"] for r in extra]
    assert ranked.index(ids[0]) < min(ranked.index(i) for i in ids[2:5] if i in by_id)
    assert ranked.index(ids[1]) < min(ranked.index(i) for i in ids[2:5] if i in by_id)


def test_part_similarities_read_only_the_asked_namespace(api, ns):
    mine = ingest(api, ns, [TEACH])
    theirs = ingest(api, ns + "-other", [PARROT])
    vec = get_embedder().embed(["What do I teach?"])[0]
    with db.connection() as conn:
        rows = expansion.part_similarities(conn, ns, [*mine, *theirs], [vec, vec])
        assert expansion.part_similarities(conn, ns, [], [vec]) == []
    assert sorted((r["id"], r["probe"]) for r in rows) == [(mine[0], 0), (mine[0], 1)]


def test_probe_and_part_similarities_equal_the_cosines_of_the_stored_vectors(api, ns, db_conn):
    import numpy as np

    ids = ingest(api, ns, [COUSIN, MIA, TEACH, PARROT, *FILLER])
    probes = ["Where does Mia live now?", "Who is visiting soon?", "what is our parrot named?"]
    vecs = get_embedder().embed(probes)
    stored = {
        r["id"]: np.asarray(r["v"], dtype=np.float64)
        for r in db_conn.execute(
            "SELECT id, embedding::float4[] AS v FROM memories WHERE namespace = %s", (ns,)
        )
    }

    def cos(mid, vec):
        a, b = stored[mid], np.asarray(vec, dtype=np.float64)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    req = QueryRequest(namespace=ns, query=probes[0])
    with db.connection() as conn:  # several vectors in one statement (arrays of vectors, sent in binary)
        rows = expansion.probes_and_parts(
            conn, req, vecs[0], [(vecs[0], "mia"), (vecs[1], None), (vecs[2], None)], 5
        )[0]
        parts = expansion.part_similarities(conn, ns, ids, vecs)
        # The same in one round trip: probe rows measured against every part, and the listed memories.
        both, listed = expansion.probes_and_parts(
            conn,
            req,
            vecs[0],
            [(vecs[1], None), (vecs[2], "mia")],
            5,
            part_ids=ids[:2],
            part_vecs=vecs,
            entity_names=["mia", "lisbon"],
        )
    evidence: dict = {}  # read by the test from L3
    for r in db_conn.execute(
        "SELECT evidence FROM entities WHERE namespace = %s AND normalized = ANY(%s)", (ns, ["mia", "lisbon"])
    ):
        for mid in r["evidence"]:
            evidence[mid] = evidence.get(mid, 0) + 1
    assert evidence.get(ids[1]) == 2  # "Mia has lived in Lisbon since last month."
    assert all(r["entity_n"] == evidence.get(r["id"], 0) for r in both)
    assert any(r["entity_n"] for r in both)
    with db.connection() as conn:  # the first round's counts passed on: the lists are not read again
        counted: Counter[str] = Counter()
        candidates.fetch(
            conn, req, vecs[0], 10, [], None, ann_index=None, entity_names=["mia", "lisbon"], counted=counted
        )
        reused = expansion.probes_and_parts(
            conn,
            req,
            vecs[0],
            [(vecs[1], None), (vecs[2], "mia")],
            5,
            entity_names=["mia", "lisbon"],
            evidence_counts=counted,
        )[0]
    assert dict(counted) == {str(mid): n for mid, n in evidence.items()}
    assert reused and all(r["entity_n"] == evidence.get(r["id"], 0) for r in reused)
    assert any(r["entity_n"] for r in reused)
    assert {r["probe"] for r in rows} == {0, 1, 2}
    for r in rows:
        assert abs(float(r["psim"]) - cos(r["id"], vecs[r["probe"]])) < 1e-5
        assert abs(float(r["vsim"]) - cos(r["id"], vecs[0])) < 1e-5
    assert len(parts) == len(ids) * len(vecs)
    for r in parts:
        assert abs(float(r["psim"]) - cos(r["id"], vecs[r["probe"]])) < 1e-5
    assert sorted((r["id"], r["probe"]) for r in listed) == sorted((i, p) for i in ids[:2] for p in range(3))
    for r in listed:
        assert abs(float(r["psim"]) - cos(r["id"], vecs[r["probe"]])) < 1e-5
    assert both and {r["probe"] for r in both} == {0, 1}
    for r in both:
        assert len(r["part_psims"]) == 3
        for i, psim in enumerate(r["part_psims"]):
            assert abs(float(psim) - cos(r["id"], vecs[i])) < 1e-5
        assert r["terms"] is not None  # stored terms come with the row (scoring tokenises nothing)


def test_named_probes_prepared_with_a_generic_plan_return_each_namespaces_own_evidence(api, ns, db_conn):
    """Named probes run as one prepared statement with a generic plan: the same statement, run again
    on the same connection for another namespace and another name, still reads only that namespace's
    evidence for that name (the values are parameters, not part of the plan)."""
    ingest(api, ns, [COUSIN, MIA, *FILLER])
    other = ns + "-other"
    ingest(
        api,
        other,
        ["My friend Zoe adopted a cat.", "Zoe moved to Porto last year.", "My cousin Mia is here."],
    )
    question = "Where does my cousin live?"
    qvec = get_embedder().embed([question])[0]
    keys = [(ns, "mia"), (other, "mia"), (other, "zoe"), (ns, "zoe")]
    expected = {  # the entity's evidence list, read here, as the memories a named probe may rank
        key: {
            r["m"]
            for r in db_conn.execute(
                "SELECT unnest(evidence) AS m FROM entities WHERE namespace = %s AND normalized = %s", key
            )
        }
        for key in keys
    }
    assert expected[(ns, "mia")] and expected[(other, "zoe")] and not expected[(ns, "zoe")]
    assert not expected[(ns, "mia")] & expected[(other, "mia")]
    seen = []
    plans = (
        "SELECT coalesce(sum(generic_plans), 0) AS generic, coalesce(sum(custom_plans), 0) AS custom"
        " FROM pg_prepared_statements WHERE statement LIKE '%%AS p(vec, probe, name)%%'"
    )
    with db.connection() as conn:
        before = conn.execute(plans).fetchone()  # the pooled connection may have run it already
        for _ in range(3):  # the statement is prepared at its first run
            for namespace, name in keys:
                rows = expansion.probes_and_parts(
                    conn, QueryRequest(namespace=namespace, query=question), qvec, [(qvec, name)], 10
                )[0]
                seen.append(((namespace, name), {r["id"] for r in rows}))
        after = conn.execute(plans).fetchone()
        conn.rollback()
    assert seen == [(key, expected[key]) for _ in range(3) for key in keys]
    # Prepared at its first run: all twelve ran with the generic plan, none was planned for its values.
    assert (after["generic"] - before["generic"], after["custom"] - before["custom"]) == (12, 0)


def test_a_named_probe_ranks_only_the_newest_ranked_evidence_of_a_long_list(api, ns, db_conn, monkeypatch):
    """A long evidence list is ranked from its newest ids only (``RANKED_EVIDENCE``): an older
    memory closer to the probe is not read; with the whole list ranked it is found first."""
    old = ingest(api, ns, ["Mia has lived in Lisbon since last month."])
    newer = ingest(api, ns, [f"Mia sent note number {i} about the weather." for i in range(5)])
    stored = db_conn.execute(
        "SELECT evidence FROM entities WHERE namespace = %s AND normalized = 'mia'", (ns,)
    ).fetchone()["evidence"]
    assert stored == [*old, *newer]  # newest last, as the list is kept
    question = "Where does my cousin live? Mia Lisbon"
    qvec = get_embedder().embed([question])[0]
    req = QueryRequest(namespace=ns, query=question)
    with db.connection() as conn:
        whole = expansion.probes_and_parts(conn, req, qvec, [(qvec, "mia")], 2)[0]
        monkeypatch.setattr(expansion, "RANKED_EVIDENCE", 3)
        newest = expansion.probes_and_parts(conn, req, qvec, [(qvec, "mia")], 10)[0]
    assert whole[0]["id"] == old[0]  # the closest of the whole list
    assert {r["id"] for r in newest} == set(newer[-3:])
