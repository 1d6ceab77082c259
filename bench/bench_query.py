"""Query latency with N memories in the queried namespace and M in the store across K namespaces.

    python bench/bench_query.py [--quick | --full] [--ns-rows N] [--total-rows M] [--namespaces K] [--queries Q]
                                [--data-dir DIR [--load-only]]

The store is bulk-loaded with binary COPY straight into ``memories`` (loading 1M rows through the
API would take hours at a few hundred rows/s): every NOT NULL column is filled the way ingest fills
it (content hash, token count, importance, embedding of the indexed text with the configured
embedder), term statistics are recorded per namespace with ``memos.retrieval.lexical.record_terms``, session
counters are set, and the namespaces past ``MEMOS_ANN_MIN_MEMORIES`` get their HNSW index (what the
decay job does). Vector recall@10 of the query path against exact distance is reported for the large
namespace and for a small one. Then Q queries (questions from the eval set with random names, and chat sentences)
run in process (``memos.retrieval.search.query``) and over HTTP (``POST /v1/query``), with and without a
session_id (which adds the L1 window from Redis).

``--data-dir DIR`` keeps the stack's database in DIR: the first run loads it (``--load-only`` stops
there), later runs with the same sizes reuse it and its questions (the full load takes most of an
hour on 2 cores), so a change can be measured against the same store.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import (
    Http,
    TextSource,
    admin_conn,
    bulk_load,
    local_stack,
    machine,
    pct,
    set_nodelay,
    table,
    write_result,
)

TARGET = "bench-q-main"
_LIVE = "status = 'active' AND (expires_at IS NULL OR expires_at > now())"
# The vector retriever's statement as the query path builds it (``memos.store.ann.nearest_sql``,
# called by ``memos.store.candidates.fetch``): the namespace's graph walk (its partial index, the
# namespace as a literal) with the exact nearest of its backlog, or exact distance without a graph.
# Run like the query path runs it: planned without sorts, so only the index can order the walk.
UNSORTED, SORTED = "SET enable_sort = off", "SET enable_sort TO DEFAULT"
_EXACT = (
    "WITH ns AS MATERIALIZED (SELECT id, embedding FROM memories WHERE namespace = %(ns)s AND " + _LIVE + ")"
    " SELECT id FROM ns ORDER BY embedding <=> %(qvec)s LIMIT %(n)s"
)


def _literal(conn: Any, value: str) -> str:
    from psycopg import sql

    return sql.Literal(value).as_string(conn)


def nearest_statement(conn: Any, namespace: str) -> str:
    from memos.store import ann

    where = "namespace = {} AND " + _LIVE
    graph = ann.graph_of(conn, namespace)
    return ann.nearest_sql(
        "id, embedding <=> %(qvec)s AS d",
        "embedding <=> %(qvec)s",
        "%(n)s",
        graph,
        where.format(_literal(conn, namespace)),
        where.format("%(ns)s"),
        "d",
        walk_order=ann.walk_order(graph, "%(qvec)s"),
    )


def vector_recall(conn: Any, namespace: str, queries: list[str], embedder: Any, k: int = 10) -> float:
    """Mean share of the exact top ``k`` (distance over every row of the namespace) that the query
    path's statement returns (the namespace's HNSW index when it has one, with the session's
    ``hnsw.*`` settings of the service)."""
    from memos.store import ann

    for statement in ann.SEARCH_SETTINGS:
        conn.execute(statement)
    graph = ann.graph_of(conn, namespace)
    live = conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s AND " + _LIVE, (namespace,))
    # The walk's length as the query sets it (memos.store.candidates.fetch): the small-graph rule,
    # else the graph's own (a graph built with ann.BUILD_EF_CONSTRUCTION needs a shorter walk).
    ef = ann.ef_search_for(live.fetchone()["n"]) or (graph.ef_search if graph else None)
    if graph is not None and ef is not None:
        conn.execute(f"SET hnsw.ef_search = {int(ef)}")
    nearest = nearest_statement(conn, namespace)
    shares = []
    for q in queries:
        params = {"qvec": embedder.embed([q])[0], "n": k, "ns": namespace}
        exact = {r["id"] for r in conn.execute(_EXACT, params).fetchall()}
        conn.execute(UNSORTED)
        got = {r["id"] for r in conn.execute(nearest, params).fetchall()}
        conn.execute(SORTED)
        shares.append(len(exact & got) / max(1, len(exact)))
    conn.execute("SET hnsw.ef_search TO DEFAULT")
    return round(statistics.mean(shares), 4)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="10k in the namespace, 50k in 50 namespaces (default)"
    )
    ap.add_argument(
        "--full", action="store_true", help="SPEC sizes: 100k in the namespace, 1M in 1,000 namespaces"
    )
    ap.add_argument("--ns-rows", type=int)
    ap.add_argument("--total-rows", type=int)
    ap.add_argument("--namespaces", type=int)
    ap.add_argument("--queries", type=int)
    ap.add_argument("--data-dir", type=Path, help="keep the store here and reuse it on the next run")
    ap.add_argument("--load-only", action="store_true", help="with --data-dir: load the store and stop")
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    n_ns = args.ns_rows or (100_000 if args.full else 10_000)
    total = args.total_rows or (1_000_000 if args.full else 50_000)
    k = args.namespaces or (1_000 if args.full else 50)
    n_q = args.queries or (300 if args.full else 200)
    if args.ns_rows or args.total_rows or args.namespaces:
        mode = f"{n_ns // 1000}k-{total // 1000}k-{k}ns"
    started = machine()
    texts = TextSource(seed=23)
    others = k - 1
    per_other = (total - n_ns) // max(others, 1)
    layout = {TARGET: n_ns, **{f"bench-q-{i:04d}": per_other for i in range(others)}}
    out: dict[str, Any] = {
        "namespace_rows": n_ns,
        "store_rows": sum(layout.values()),
        "namespaces": len(layout),
        "queries": n_q,
    }
    saved = args.data_dir / "bench_query.json" if args.data_dir else None
    kept = json.loads(saved.read_text()) if saved and saved.exists() else None
    if kept is not None and kept["layout"] != layout:
        raise SystemExit(
            f"{args.data_dir} holds another store ({kept['store_rows']:,} rows); use another dir"
        )

    with local_stack(args.data_dir) as stack:
        if kept is None:
            print(
                f"bulk-loading {out['store_rows']:,} rows across {len(layout):,} namespaces ({n_ns:,} in {TARGET})"
            )
            with admin_conn() as conn:
                t = time.perf_counter()
                out["load_s"] = bulk_load(conn, layout, texts, age_days=120)
                out["load_s"]["total_s"] = round(time.perf_counter() - t, 2)
            print(f"loaded: {out['load_s']}")
            queries = [texts.query() for _ in range(max(n_q, 300))]
            if saved is not None:
                kept = {"layout": layout, "store_rows": out["store_rows"], "queries": queries}
                kept["load_s"] = out["load_s"]
                saved.write_text(json.dumps(kept))
        else:
            print(f"reusing the store in {args.data_dir} ({out['store_rows']:,} rows, loaded before)")
            queries, out["load_s"] = kept["queries"], {**kept["load_s"], "reused": True}
        if args.load_only:
            return out
        queries = queries[:n_q]
        with admin_conn() as conn:
            out["table_mb"] = conn.execute(
                "SELECT pg_total_relation_size('memories') / 1048576 AS mb"
            ).fetchone()["mb"]

        from memos.models import QueryRequest
        from memos.retrieval.search import query

        sessions = [f"s{i % 50}" for i in range(n_q)]
        for q in queries[:20]:  # warm: imports, pool, prepared statements, pages in cache
            query(QueryRequest(namespace=TARGET, query=q))

        results: dict[str, Any] = {}
        breakdown: dict[str, dict[str, list[float]]] = {}

        def run_in_process(label: str, with_session: bool) -> None:
            lat, parts = [], defaultdict(list)
            for q, sid in zip(queries, sessions, strict=True):
                req = QueryRequest(namespace=TARGET, query=q, session_id=sid if with_session else None)
                t = time.perf_counter()
                resp = query(req)
                lat.append(time.perf_counter() - t)
                for name, ms in resp.timings_ms.items():
                    parts[name].append(ms)
            results[label] = pct(lat)
            breakdown[label] = parts

        def run_http(label: str, with_session: bool, nodelay: bool) -> None:
            set_nodelay(stack, nodelay)
            http = Http(stack.url, stack.api_key or "")
            http.post("/v1/query", {"namespace": TARGET, "query": "warm up"})
            lat = []
            for q, sid in zip(queries, sessions, strict=True):
                body: dict[str, Any] = {"namespace": TARGET, "query": q}
                if with_session:
                    body["session_id"] = sid
                t = time.perf_counter()
                status, resp = http.post("/v1/query", body)
                lat.append(time.perf_counter() - t)
                assert status == 200, (status, resp)
            http.close()
            results[label] = pct(lat)

        run_in_process("in process", False)
        run_in_process("in process, with session_id", True)
        # The local server sets TCP_NODELAY (infra/local/server.py); the last row shows what Nagle's
        # algorithm would add (the body waiting for the client's delayed ACK).
        run_http("HTTP (local server as shipped)", False, True)
        run_http("HTTP, with session_id", True, True)
        run_http("HTTP, Nagle's algorithm on (for comparison)", False, False)

        # Vector recall@10 of what the query path uses (the namespace's HNSW index, or exact distance)
        # against exact distance, for the large namespace and for a small one in the same store.
        from memos.embeddings import get_embedder

        small = next(ns for ns in layout if ns != TARGET) if len(layout) > 1 else TARGET
        with admin_conn() as conn:
            out["vector_recall_at_10"] = {
                TARGET: vector_recall(conn, TARGET, queries[:50], get_embedder()),
                small: vector_recall(conn, small, queries[:50], get_embedder()),
            }
            conn.execute(UNSORTED)
            out["vector_query_plan"] = [
                r["QUERY PLAN"]
                for r in conn.execute(
                    "EXPLAIN (ANALYZE, COSTS OFF) " + nearest_statement(conn, TARGET),
                    {"qvec": get_embedder().embed([queries[0]])[0], "n": 40, "ns": TARGET},
                ).fetchall()
            ]
            conn.execute(SORTED)
        print(f"vector recall@10 vs exact: {out['vector_recall_at_10']}")

    out["latency"] = results
    out["in_process_breakdown_ms"] = {
        label: {name: round(statistics.median(v), 3) for name, v in parts.items()}
        for label, parts in breakdown.items()
    }
    print(
        f"\nQuery latency ({n_q} queries; {n_ns:,} rows in the namespace, {out['store_rows']:,} in the store)"
    )
    table(
        ("path", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms"),
        [
            (label, r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_ms"])
            for label, r in results.items()
        ],
    )
    print("\nin-process median per step (ms, from timings_ms):")
    names = sorted({n for parts in out["in_process_breakdown_ms"].values() for n in parts})
    table(
        ("path", *names),
        [
            (label, *(parts.get(n, 0.0) for n in names))
            for label, parts in out["in_process_breakdown_ms"].items()
        ],
    )
    print("\nvector retriever plan (large namespace):")
    print("\n".join("  " + line[:160] for line in out["vector_query_plan"]))
    write_result("query", mode, out, started)
    return out


if __name__ == "__main__":
    main()
