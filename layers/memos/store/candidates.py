"""Query candidates from L2: nearest by embedding, best BM25 matches from the postings, nearest inside
a time range, and the memories governance keeps out (for ``include_filtered``), all under one filter."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memos.models import QueryRequest
from memos.store import ann, db
from memos.store.status import KEPT_OUT, LIVE, WITH_HISTORY, current_as_of

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# What scoring reads of a candidate (current importance is computed from the decay plan's columns).
ROW_COLUMNS = (
    "id, session_id, role, kind, text, metadata, occurred_at, importance, tokens,"
    " base_importance, access_count, created_at, last_accessed_at, decay_half_life, decay_floor, fact_key"
)
_COLUMNS = ROW_COLUMNS + ", 1 - (embedding <=> %(qvec)s) AS vsim"
# The candidate statements run many times with the same text and different values: once prepared
# (psycopg, after 5 runs), their generic plan is reused instead of planning each run (0.3-0.6 ms
# at 1k-5k memories). Their plans do not depend on the values: the namespace's own index is matched
# through the literal namespace, the lexical branch reads its postings per term by the index.
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
DEFAULT_PLANS = "SET LOCAL plan_cache_mode TO DEFAULT"
# The exact path's settings in a namespace without its own graph: generic plans, no sequential scan
# of the table and no parallel workers. A generic plan expects the average namespace for
# ``namespace = $1``: in a store of a few namespaces (n_distinct 3) that was a third of the table, so a
# 1k namespace beside a 100k one was read by a parallel scan of all 105k rows, 121 ms against 0.98 ms
# through ``memories_ns_occurred``; without the scan, a parallel bitmap scan (its workers' start) still
# took 12 ms of the candidates step (docs/BENCHMARKS.md, "Ninth round"). Such a namespace is small (a
# large one gets its graph), and an index on it always serves. Not under a selective filter in a
# namespace with its graph: a session holding 100k memories was read faster by the parallel scan
# (p50 61.6 against 81.3 ms with these settings).
_GENERIC_NO_SEQSCAN = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)
# The indexed path's settings for its transaction in one statement (``set_config(..., true)`` is
# ``SET LOCAL``): generic plans, no sorts, and the walk's ef_search when given.
_UNSORTED_GENERIC = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_sort', 'off', true)"
)
# The temporal retriever in a namespace with its own graph: exact distance over the rows of the time
# range when it holds few of them, the graph walked with the range as a filter (iterative scan) when
# it holds at least RANGE_WALK_SHARE of the namespace's rows and RANGE_WALK_MIN. Exact costs ~0.8 us
# a row in range; the walk visits ~1/share rows per row it returns, so it wins only on wide ranges: in
# a 100k namespace the vector and temporal statement took 30.5 / 20.0 / 12.6 / 11.0 / 9.6 ms (p50) with
# the walk for ranges of 2.5k / 5.8k / 11.7k / 25k / 100k rows, 7.4 / 10.4 / 13.7 / 24.8 / 82.7 exact
# (docs/BENCHMARKS.md, "Query at SPEC size, sixth round"). Decided inside the statement
# (``wide_range_sql``): the range's share of the namespace's time span first (two index endpoints),
# then, if that says wide, its index entries counted up to the bound (``memories_ns_occurred``, index
# only; a burst of rows or a quiet stretch inside the span makes the first guess wrong either way, the
# count does not). In a namespace of 1M memories the count may read 150k entries (~20 ms at the 0.13 us
# an entry measured for 2,000, not measured at that size) before a
# walk that replaces an exact read of at least as many rows.
RANGE_WALK_MIN, RANGE_WALK_SHARE = 10_000, 0.15


def wide_range_sql() -> str:
    """A common table expression ``span`` of one row: ``wide``, whether the range [``%(t0)s``,
    ``%(t1)s``) holds at least ``max(RANGE_WALK_MIN, RANGE_WALK_SHARE x the namespace's memories)``
    active rows of the namespace ``%(ns)s`` (``namespace_stats.docs``). The count runs only when the
    range's share of the namespace's time span says it may (CASE evaluates one branch), and stops at
    the bound."""
    docs = "coalesce((SELECT s.docs FROM namespace_stats s WHERE s.namespace = %(ns)s), 0)"
    bound = f"greatest({int(RANGE_WALK_MIN)}, {docs} * {float(RANGE_WALK_SHARE)})::bigint"
    active = "FROM memories WHERE namespace = %(ns)s AND status = 'active'"
    # The span's endpoints as the first entry of ``memories_ns_occurred`` each way, read once (OFFSET
    # 0 keeps ``x`` a subquery: inlined, each of its four uses was a subplan of its own). Written as
    # min()/max(), a generic plan aggregated over all the namespace's entries instead: 4 x 2.1 ms in a
    # 5k namespace, a question naming a time 16.6 -> 26.6 ms p50 (docs/BENCHMARKS.md, seventh round).
    first = f"SELECT occurred_at {active} AND occurred_at IS NOT NULL ORDER BY occurred_at"
    return (
        "span AS MATERIALIZED (SELECT CASE WHEN x.docs * greatest(0, extract(epoch FROM least(%(t1)s, x.hi)"
        f" - greatest(%(t0)s, x.lo))) / nullif(extract(epoch FROM x.hi - x.lo), 0) >= {bound}"
        f" THEN (SELECT count(*) FROM (SELECT 1 {active} AND occurred_at >= %(t0)s AND occurred_at < %(t1)s"
        f" LIMIT {bound}) r) >= {bound} ELSE false END AS wide FROM (SELECT {docs} AS docs,"
        f" ({first} ASC LIMIT 1) AS lo, ({first} DESC LIMIT 1) AS hi OFFSET 0) x)"
    )


def metadata_of(row: dict[str, Any]) -> dict[str, Any]:
    """A candidate row's ``metadata``, parsed on first use (and kept in the row). The candidate
    statements carry it as its JSON text (``_rows_cursor``): a query reads 70-120 candidate rows and
    uses the metadata of the ten or so it returns or packs; parsing every row's jsonb was 0.2-0.3 ms
    a query (docs/BENCHMARKS.md, "Query path, sixth round"). Rows from elsewhere hold it parsed."""
    found = row["metadata"]
    if isinstance(found, str):
        found = row["metadata"] = json.loads(found)
    return found


def _rows_cursor(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    """A cursor whose jsonb values come as their text (``metadata_of`` parses a row's when used)."""
    from psycopg.types.string import TextLoader

    cur = conn.cursor()
    cur.adapters.register_loader("jsonb", TextLoader)
    return cur


def filters_sql(
    req: QueryRequest, status: str = LIVE, *, namespace_sql: str = "%(ns)s"
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of the query's filters and its parameters (``namespace_sql``: how the
    namespace is written, a placeholder unless a caller needs a constant)."""
    params: dict[str, Any] = {"ns": req.namespace}
    if req.as_of is not None and status == LIVE:
        status = current_as_of()
        params["as_of"] = req.as_of
    elif req.history and status == LIVE:
        status = WITH_HISTORY
    clauses = [f"namespace = {namespace_sql}", f"({status})"]
    if req.scope == "session":
        clauses.append("session_id = %(sid)s")
        params["sid"] = req.session_id
    f = req.filters
    if f is not None:
        if f.roles:
            clauses.append("role = ANY(%(roles)s)")
            params["roles"] = list(f.roles)
        if f.kinds:
            clauses.append("kind = ANY(%(kinds)s)")
            params["kinds"] = list(f.kinds)
        if f.session_ids:
            clauses.append("session_id = ANY(%(sids)s)")
            params["sids"] = list(f.session_ids)
        if f.since:
            clauses.append("occurred_at >= %(since)s")
            params["since"] = f.since
        if f.until:
            clauses.append("occurred_at <= %(until)s")
            params["until"] = f.until
        if f.metadata:
            clauses.append("metadata @> %(meta)s")
            params["meta"] = db.jsonb(f.metadata)
    return " AND ".join(clauses), params


def is_selective(req: QueryRequest) -> bool:
    """A session scope or filters: few rows qualify, so exact distance beats a graph walk."""
    return req.scope == "session" or req.filters is not None


def nearest_filter(conn: psycopg.Connection[Any], req: QueryRequest, ann_index: ann.Graph | None) -> str:
    """The filters' WHERE clause for a nearest-neighbour scan: with the namespace written as a
    literal when its own HNSW index should serve (the planner matches a partial index's predicate
    only against a constant), with the placeholder for exact distance."""
    if not ann_index or is_selective(req):
        return filters_sql(req)[0]
    from psycopg import sql

    return filters_sql(req, namespace_sql=sql.Literal(req.namespace).as_string(conn))[0]


def fetch(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    qvec: Any,
    limit: int,
    lexical_terms: Sequence[tuple[str, float]],
    period: tuple[datetime, datetime] | None,
    *,
    ann_index: ann.Graph | None,
    entity_names: Sequence[str] = (),
    ef_search: int | None = None,
    per_term: int = 100,
    counted: Counter[str] | None = None,
) -> list[dict[str, Any]]:
    """Candidate rows in one statement (``vsim`` = cosine similarity to the query, ``src`` the retriever
    that found it); a memory may come more than once.

    - vector: the ``limit`` nearest. Exact distance over the namespace's rows, or, when the namespace
      has its own partial HNSW index (``ann_index``, ``memos.store.ann``) and no selective filter,
      that index with an iterative scan (the namespace is written as a literal so the planner can
      match the index's predicate), walked with ``ef_search`` for the rest of the transaction when
      given (``memos.store.ann.ef_search_for``), else with the graph's own (``Graph.ef_search``: a
      graph built with a longer construction walk needs a shorter search; sent in the same round
      trip), merged with the exact
      nearest of the rows not in the graph yet (``memos.store.ann.nearest_sql``).
    - lexical: BM25 over impact-ordered postings: at most ``per_term`` postings per query term (the
      ``lexical_terms``: term, idf), so the cost does not grow with the namespace.
    - temporal: the nearest inside the ``period`` the question names ([start, end)): exact distance
      over its rows, or, in a namespace with its own graph and a range holding many of its rows
      (``wide_range_sql``), the graph walked with the range as a filter like the vector retriever.

    The rows' ``metadata`` is its JSON text, parsed by ``metadata_of`` where it is used.

    Each row also carries what scoring reads of it besides the memory: ``terms``, its stored content
    terms (``memory_terms``; NULL for a memory stored without them), and, when ``entity_names`` (the
    query's known entities) are given, ``entity_n``: how many of them it is L3 evidence for;
    ``counted`` (when given) receives those counts for every memory the lists name (its id as text),
    so a second round (``memos.store.expansion``) counts its rows without reading the lists again.
    """
    where, params = filters_sql(req)
    selective = is_selective(req)
    params.update(qvec=qvec, n=limit)
    graph = ann_index if not selective else None
    vector_where = nearest_filter(conn, req, graph)
    if graph is None:
        nearest = _exact_nearest(where, "vector")
    else:
        select, order = _COLUMNS + ", 'vector' AS src", "embedding <=> %(qvec)s"
        nearest = (
            "("
            + ann.nearest_sql(
                select,
                order,
                "%(n)s",
                graph,
                vector_where,
                where,
                "vsim DESC",
                walk_order=ann.walk_order(graph, "%(qvec)s"),
            )
            + ")"
        )
    parts: list[str] = []
    if lexical_terms:
        params.update(
            terms=[t for t, _ in lexical_terms],
            idf=[w for _, w in lexical_terms],
            per_term=per_term,
            pool=limit * 3,
        )
        # With a selective filter the postings are checked against it before the per-term cut, so
        # a session's memories are not crowded out by the rest of a large namespace.
        check = (
            f" AND EXISTS (SELECT 1 FROM memories WHERE memories.id = p.memory_id AND {where})"
            if selective
            else ""
        )
        parts.append(
            f"(SELECT {_COLUMNS}, 'lexical' FROM ("
            "SELECT hit.memory_id, sum(q.idf * hit.impact) AS bm25"
            " FROM unnest(%(terms)s::text[], %(idf)s::float8[]) AS q(term, idf)"
            " CROSS JOIN LATERAL (SELECT p.memory_id, p.impact FROM postings p"
            f"  WHERE p.namespace = %(ns)s AND p.term = q.term{check} ORDER BY p.impact DESC LIMIT %(per_term)s) hit"
            " GROUP BY hit.memory_id ORDER BY bm25 DESC LIMIT %(pool)s) h"
            # Each hit by its primary key, then the filters (OFFSET 0 keeps the lookup as it is: with
            # stale statistics, e.g. right after a bulk ingest, a join scanned the namespace per hit).
            " CROSS JOIN LATERAL (SELECT * FROM memories m0 WHERE m0.id = h.memory_id OFFSET 0) memories"
            f" WHERE {where} ORDER BY h.bm25 DESC LIMIT %(n)s)"
        )
    walked: list[str] = []  # with the graph: the temporal retriever's walk and its exact twin, gated
    if period is not None:
        params.update(t0=period[0], t1=period[1])
        in_range = " AND occurred_at >= %(t0)s AND occurred_at < %(t1)s"
        exact = _exact_nearest(where + in_range, "temporal")
        if graph is None:
            parts.append(exact)
        else:
            walk = ann.nearest_sql(
                _COLUMNS + ", 'temporal' AS src",
                "embedding <=> %(qvec)s",
                "%(n)s",
                graph,
                vector_where + in_range,
                where + in_range,
                "vsim DESC",
                walk_order=ann.walk_order(graph, "%(qvec)s"),
            )
            # One of the two runs: a condition without columns gates its plan (not started when false).
            # Both are planned without sorts, with the vector retriever, so the walk takes the index.
            walked = [
                f"(SELECT * FROM {exact} e WHERE NOT (SELECT wide FROM span))",
                f"(SELECT * FROM ({walk}) w WHERE (SELECT wide FROM span))",
            ]
    evidence = None
    if not ann_index or selective:
        with conn.pipeline():
            if entity_names:
                evidence = send_evidence(conn, req.namespace, entity_names)
            conn.execute(GENERIC_PLANS if ann_index else _GENERIC_NO_SEQSCAN)
            cur = _rows_cursor(conn).execute(_with_terms([nearest, *parts]), params)
            if not ann_index:
                conn.execute("SET LOCAL enable_seqscan TO DEFAULT")
                conn.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
            conn.execute(DEFAULT_PLANS)
        return with_evidence(cur.fetchall(), evidence, counted)
    # The namespace's own index serves the vector retriever. The planner would choose it from its
    # row estimate for the namespace, which can be far off (a namespace outside the column's most
    # common values, or a table not analyzed yet: then it sorted all of a 5k namespace by exact
    # distance, 10 ms): the statement is planned without sorts, so only the index can order it. The
    # other retrievers run in the same statement: the temporal one (its exact read or its filtered
    # walk, gated by ``span``) and the lexical one, whose sorts (the postings' BM25 sums and their
    # best, the exact distances of a range) have no other plan, so they stay as planned with sorts
    # (the same plan shape; tests/integration/test_query_candidates.py checks its rows against the
    # exact path's, planned with sorts). Settings, statement and the
    # settings back in one round trip: four statements (there were seven, and two candidate
    # statements, docs/BENCHMARKS.md "Candidates, eighth round").
    if ef_search is None and graph is not None:
        ef_search = graph.ef_search  # the walk its build needs (ann.BUILD_EF_CONSTRUCTION)
    with conn.pipeline():
        if entity_names:
            evidence = send_evidence(conn, req.namespace, entity_names)
        if ef_search is not None:
            conn.execute(
                _UNSORTED_GENERIC + ", set_config('hnsw.ef_search', %s, true)", (str(int(ef_search)),)
            )
        else:
            conn.execute(_UNSORTED_GENERIC)
        cur = _rows_cursor(conn).execute(
            _with_terms([nearest, *walked, *parts], [wide_range_sql()] if walked else []), params
        )
        conn.execute("SET LOCAL enable_sort TO DEFAULT")
        conn.execute(DEFAULT_PLANS)
    return with_evidence(cur.fetchall(), evidence, counted)


def _exact_nearest(where: str, src: str) -> str:
    """The ``n`` nearest rows under ``where`` by exact distance, as a retriever's part (``src``): the
    distances in a narrow pass (each row's address and distance), then only the chosen rows' columns,
    by address (a TID scan; the same statement, so the same snapshot and row versions; ``memories``
    is one table, so an address names one row). Carrying every column of every scanned row into the
    sort cost 20-30 % more: 10.6 against 7.5 ms for a 4,600-row time range, 1.06 against 0.82 ms for
    a 1k namespace (docs/BENCHMARKS.md, "Query path, fifth round")."""
    return (
        f"(SELECT m.*, 1 - d.dist AS vsim, '{src}' AS src FROM (SELECT ctid AS at, embedding <=> %(qvec)s AS dist"
        f" FROM memories WHERE {where} ORDER BY dist LIMIT %(n)s) d"
        f" CROSS JOIN LATERAL (SELECT {ROW_COLUMNS} FROM memories m0 WHERE m0.ctid = d.at OFFSET 0) m)"
    )


def send_evidence(
    conn: psycopg.Connection[Any], namespace: str, entity_names: Sequence[str]
) -> psycopg.Cursor[Any]:
    """Send the read of the evidence lists of the query's known entities (``with_evidence`` counts
    them): each entity's memory ids as one text, by the entities' key (a few rows). Joined to the
    candidates in SQL instead (a materialized count per memory), each candidate was compared with
    every evidence id (a nested loop: the planner expects ten of them): 40 x 100-300 comparisons a
    statement for a question naming a person in a 5k namespace (docs/BENCHMARKS.md, "Candidates,
    eighth round")."""
    return conn.execute(
        "SELECT array_to_string(e.evidence, ' ') AS ids FROM entities e"
        " WHERE e.namespace = %s AND e.normalized = ANY(%s)",
        (namespace, list(entity_names)),
    )


def with_evidence(
    rows: list[dict[str, Any]], evidence: psycopg.Cursor[Any] | None, counted: Counter[str] | None = None
) -> list[dict[str, Any]]:
    """``rows`` each with ``entity_n``: how many of the entities ``send_evidence`` read it is
    evidence for (as many as its id occurs in their lists); ``rows`` as they are without a read.
    ``counted``: updated with the counts (by id as text)."""
    if evidence is None:
        return rows
    counts = Counter(" ".join(r["ids"] or "" for r in evidence.fetchall()).split())
    if counted is not None:
        counted.update(counts)
    return counted_rows(rows, counts)


def counted_rows(rows: list[dict[str, Any]], counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """``rows`` each with ``entity_n`` from ``counts`` (a memory's id as text: how many of the
    query's entities it is evidence for; ``with_evidence``'s counts)."""
    for row in rows:
        row["entity_n"] = counts.get(str(row["id"]), 0)
    return rows


def _with_terms(parts: Sequence[str], ctes: Sequence[str] = ()) -> str:
    """The retrievers' rows (``parts``, UNION ALL), each with its stored terms. Rows come in no set
    order (the caller keeps the first row of each memory, and a memory's rows are alike but for
    ``src``). ``ctes``: common table expressions the parts read (``name AS (...)``)."""
    # The stored terms by primary key per row (a join and a window keeping the retrievers' order
    # cost 0.4-0.8 ms a statement at 5k memories; bench/profile_query.py, docs/BENCHMARKS.md).
    return (
        ("WITH " + ", ".join(ctes) + " " if ctes else "")
        + "SELECT u.*, (SELECT t.terms FROM memory_terms t WHERE t.memory_id = u.id) AS terms FROM ("
        + " UNION ALL ".join(parts)
        + ") u"
    )


def kept_out(
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any, limit: int = 20
) -> list[dict[str, Any]]:
    """The nearest memories under the query's filters that governance keeps out (id, status)."""
    where, params = filters_sql(req, status=KEPT_OUT)
    return conn.execute(
        f"SELECT id, status FROM memories WHERE {where} ORDER BY embedding <=> %(qvec)s LIMIT %(n)s",
        {**params, "qvec": qvec, "n": limit},
    ).fetchall()
