"""Deferred graph insert (migration 0013): what a write into a large indexed namespace costs with and
without the graph insert, how fast maintenance moves the backlog into the graph, and what the
backlog costs the query.

    python bench/bench_graph_backlog.py [--rows 100000] [--rounds 10] [--singles 200] [--queries 100]
                                        [--drain-workers 1]

Two namespaces of ROWS memories each are bulk-loaded (``bench_common.bulk_load``) into one store and
get their HNSW index. Namespace A's index is rebuilt as before migration 0013 (predicate on the
namespace alone: every write inserts into the graph); B keeps its watermarked index (writes go to
the backlog). Then, alternating A and B in one run:

1. ROUNDS batches of 500 over HTTP into each, and SINGLES single-item ingests in process;
2. the drain of B's backlog (``memos.retrieval.ann.drain``: rows/s moved into the graph) and a
   concurrent rebuild of B's index (the other way to absorb a backlog: its cost per backlog row);
3. the query over HTTP (p50/p95) and the vector retriever's statement alone (p50), with recall@10
   of that statement against exact distance, at B's backlog sizes 0 / 500 / 2,000 / 10,000
   (A beside it: no backlog ever), then the drain of that backlog by DRAIN_WORKERS concurrent drains;
4. the phases of in-process 500-item batches into B (what is left once the graph insert is gone).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from bench_common import (
    Http,
    TextSource,
    admin_conn,
    bulk_load,
    local_stack,
    machine,
    pct,
    table,
    write_result,
)

A, B = "bench-graph-legacy", "bench-graph-deferred"
BATCH = 500


def legacy_index(conn: Any, ns: str) -> float:
    """Replace ``ns``'s index by one as built before migration 0013; returns the build seconds."""
    from psycopg import sql

    from memos.store import ann

    old = ann.graph_of(conn, ns)
    name = ann.index_name(ns)
    t = time.perf_counter()
    conn.execute(
        sql.SQL(
            "CREATE INDEX CONCURRENTLY {} ON memories USING hnsw (embedding vector_cosine_ops)"
            " WITH (" + ann.HNSW_WITH + ") WHERE namespace = {}"
        ).format(sql.Identifier(name), sql.Literal(ns))
    )
    secs = time.perf_counter() - t
    conn.execute(
        "UPDATE ann_indexes SET index_name = %s, graph_through = NULL WHERE namespace = %s", (name, ns)
    )
    if old is not None:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY {}").format(sql.Identifier(old.name)))
    return secs


def backlog(conn: Any, ns: str) -> int:
    from memos.store import ann

    graph = ann.graph_of(conn, ns)
    return ann.backlog(conn, ns, graph, 10**9) if graph else 0


def vector_statement(conn: Any, ns: str, qvec: Any, exact: bool) -> tuple[list[Any], float]:
    """The vector retriever's statement alone (top 40, as the query asks for top_k 10), or exact
    distance over the namespace; returns the ids and the seconds."""
    from psycopg import sql

    from memos.store import ann

    graph = None if exact else ann.graph_of(conn, ns)
    lit = sql.Literal(ns).as_string(conn)
    stmt = ann.nearest_sql(
        "id, 1 - (embedding <=> %(q)s) AS vsim",
        "embedding <=> %(q)s",
        "40",
        graph,
        f"namespace = {lit} AND status = 'active'",
        "namespace = %(ns)s AND status = 'active'",
        "vsim DESC",
    )
    with conn.transaction():
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")  # no graph: exact distance
        else:
            conn.execute("SET LOCAL enable_sort = off")  # as candidates.fetch plans the walk
        t = time.perf_counter()
        rows = conn.execute(stmt, {"q": qvec, "ns": ns}).fetchall()
        secs = time.perf_counter() - t
    return [r["id"] for r in rows], secs


def plan(conn: Any, ns: str, qvec: Any) -> list[str]:
    """EXPLAIN ANALYZE of B's vector statement (which indexes serve the walk and the backlog)."""
    from psycopg import sql

    from memos.store import ann

    lit = sql.Literal(ns).as_string(conn)
    stmt = ann.nearest_sql(
        "id, 1 - (embedding <=> %(q)s) AS vsim",
        "embedding <=> %(q)s",
        "40",
        ann.graph_of(conn, ns),
        f"namespace = {lit} AND status = 'active'",
        "namespace = %(ns)s AND status = 'active'",
        "vsim DESC",
    )
    with conn.transaction():
        conn.execute("SET LOCAL enable_sort = off")
        rows = conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + stmt, {"q": qvec, "ns": ns}).fetchall()
    return [r["QUERY PLAN"] for r in rows]


def measure_queries(http: Http, conn: Any, queries: list[str], vecs: list[Any]) -> dict[str, Any]:
    """HTTP query latency and the vector statement's latency and recall@10, A and B alternating."""
    lat: dict[str, list[float]] = {A: [], B: []}
    stmt: dict[str, list[float]] = {A: [], B: []}
    recall: dict[str, list[float]] = {A: [], B: []}
    for q, v in zip(queries, vecs, strict=True):
        for ns in (A, B):
            t = time.perf_counter()
            status, body = http.post("/v1/query", {"namespace": ns, "query": q, "top_k": 10})
            lat[ns].append(time.perf_counter() - t)
            assert status == 200, (status, body)
            ids, secs = vector_statement(conn, ns, v, exact=False)
            stmt[ns].append(secs)
            exact, _ = vector_statement(conn, ns, v, exact=True)
            recall[ns].append(len(set(ids[:10]) & set(exact[:10])) / 10)
    return {
        ns: {
            "backlog": backlog(conn, ns),
            "http": pct(lat[ns]),
            "vector_statement": pct(stmt[ns]),
            "recall_at_10": round(statistics.mean(recall[ns]), 4),
        }
        for ns in (A, B)
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="memories per namespace before the writes")
    ap.add_argument("--rounds", type=int, default=10, help="batches of 500 per namespace (step 1)")
    ap.add_argument("--singles", type=int, default=200, help="single-item ingests per namespace")
    ap.add_argument("--queries", type=int, default=100, help="queries per namespace per backlog size")
    ap.add_argument(
        "--drain-workers", type=int, default=1, help="concurrent drains of the 10,000-row backlog"
    )
    args = ap.parse_args(argv)
    started = machine()
    texts = TextSource(seed=21)
    out: dict[str, Any] = {"rows": args.rows, "batch_size": BATCH}
    with local_stack() as stack:
        from memos.embeddings import get_embedder
        from memos.governance import trigger
        from memos.memory.ingest import ingest
        from memos.models import IngestItem
        from memos.retrieval import ann

        with admin_conn() as conn:
            out["load_s"] = bulk_load(conn, {A: args.rows, B: args.rows}, TextSource(seed=23))
            out["legacy_build_s"] = round(legacy_index(conn, A), 2)
            out["memories_indexes"] = [
                r["indexdef"].split(" ON ")[0].replace("CREATE ", "")
                + " "
                + r["indexdef"].split(" WHERE ")[-1]
                if " WHERE " in r["indexdef"]
                else r["indexdef"].split(" ON ")[0].replace("CREATE ", "")
                for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'memories'")
            ]
        ann.clear_cache()
        http = Http(stack.url, stack.api_key or "")
        http.post("/v1/ingest", {"namespace": "bench-warm", "items": texts.items(20, 2)})
        ingest("bench-warm", [IngestItem.model_validate(i) for i in texts.items(20, 2)])

        # 1. writes, alternating: A pays the graph insert, B does not
        batch_s: dict[str, list[float]] = {A: [], B: []}
        for _ in range(args.rounds):
            for ns in (A, B):
                items = texts.items(BATCH, 50)
                t = time.perf_counter()
                status, body = http.post("/v1/ingest", {"namespace": ns, "items": items})
                assert status == 200, (status, body)
                trigger.flush()  # its condensation jobs' background sends count too
                batch_s[ns].append(time.perf_counter() - t)
        single_s: dict[str, list[float]] = {A: [], B: []}
        for item in texts.items(args.singles * 2, 20):
            ns = A if len(single_s[A]) <= len(single_s[B]) else B
            parsed = [IngestItem.model_validate(item)]
            t = time.perf_counter()
            ingest(ns, parsed, actor="bench")
            single_s[ns].append(time.perf_counter() - t)
        trigger.flush()
        out["batch_http"] = {
            ns: {
                "batches": len(s),
                "p50_batch_s": round(statistics.median(s), 3),
                "per_s": round(BATCH * len(s) / sum(s), 1),
            }
            for ns, s in batch_s.items()
        }
        out["single_in_process"] = {ns: pct(s) for ns, s in single_s.items()}
        rows = [
            (label, out["batch_http"][ns]["per_s"], out["batch_http"][ns]["p50_batch_s"])
            for label, ns in (("graph insert on write (before)", A), ("deferred (after)", B))
        ]
        print(
            f"\nbatch of 500 over HTTP into a {args.rows:,}-memory namespace, {args.rounds} each, alternating"
        )
        table(("index", "memories/s", "p50 s/batch"), rows)
        print("\nsingle ingest in process")
        table(
            ("index", "p50 ms", "p95 ms"),
            [
                (label, out["single_in_process"][ns]["p50_ms"], out["single_in_process"][ns]["p95_ms"])
                for label, ns in (("graph insert on write (before)", A), ("deferred (after)", B))
            ],
        )

        # 2. the drain of the backlog those writes left, then a rebuild (the other way to absorb it)
        with admin_conn() as conn:
            pending = backlog(conn, B)
        t = time.perf_counter()
        moved = ann.drain(B, budget_s=3600)
        secs = time.perf_counter() - t
        out["drain"] = {
            "rows": moved,
            "backlog_before": pending,
            "seconds": round(secs, 2),
            "rows_per_s": round(moved / secs, 1),
        }
        with admin_conn() as conn:
            t = time.perf_counter()
            from memos.store import ann as ann_store

            ann_store.build(conn, B, args.rows)
            out["rebuild_s"] = round(time.perf_counter() - t, 2)
        ann.clear_cache()
        print(
            f"\ndrain: {moved:,} rows in {secs:.1f} s ({moved / secs:,.0f} rows/s);"
            f" concurrent rebuild of the namespace's index: {out['rebuild_s']} s"
        )

        # 3. the query at backlog sizes 0 / 500 / 2,000 / 10,000 in B (A: no backlog)
        http.close()  # idle through the drain and the rebuild: the server has closed the keep-alive connection
        http = Http(stack.url, stack.api_key or "")
        queries = [texts.query() for _ in range(args.queries)]
        vecs = list(get_embedder().embed(queries))
        out["query_by_backlog"] = {}
        qrows = []
        with admin_conn() as conn:
            from memos.store.ann import SEARCH_SETTINGS

            for setting in SEARCH_SETTINGS:  # what every pooled connection of the service sets
                conn.execute(setting)
            for target in (0, 500, 2000, 10_000):
                while (have := backlog(conn, B)) < target:
                    items = texts.items(min(BATCH, target - have), 50)
                    status, body = http.post("/v1/ingest", {"namespace": B, "items": items})
                    assert status == 200, (status, body)
                trigger.flush()
                ann.clear_cache()
                res = measure_queries(http, conn, queries, vecs)
                res["plan_B"] = plan(conn, B, vecs[0])
                out["query_by_backlog"][str(target)] = res
                for ns, label in ((A, "A graph only"), (B, "B walk + backlog")):
                    r = res[ns]
                    qrows.append(
                        (
                            target,
                            label,
                            r["backlog"],
                            r["http"]["p50_ms"],
                            r["http"]["p95_ms"],
                            r["vector_statement"]["p50_ms"],
                            r["vector_statement"]["p95_ms"],
                            r["recall_at_10"],
                        )
                    )
        print(
            "\nB's vector statement at the largest backlog:\n  "
            + "\n  ".join(out["query_by_backlog"]["10000"]["plan_B"])
        )
        print("\nquery latency by backlog (B), A beside it")
        table(
            (
                "target",
                "namespace",
                "backlog",
                "HTTP p50",
                "HTTP p95",
                "vector p50",
                "vector p95",
                "recall@10",
            ),
            qrows,
        )
        with admin_conn() as conn:
            pending = backlog(conn, B)
        moved_by: list[int] = []
        workers = [
            threading.Thread(target=lambda: moved_by.append(ann.drain(B, budget_s=3600)))
            for _ in range(args.drain_workers)
        ]
        t = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        secs = time.perf_counter() - t
        moved = sum(moved_by)
        out["drain_10k"] = {
            "rows": moved,
            "workers": args.drain_workers,
            "backlog_before": pending,
            "seconds": round(secs, 2),
            "rows_per_s": round(moved / secs, 1),
        }
        print(
            f"drain of that backlog by {args.drain_workers} worker(s): {moved:,} rows in {secs:.1f} s"
            f" ({moved / secs:,.0f} rows/s)"
        )

        # 4. what is left of a 500-item batch without the graph insert
        from bench_ingest import batch_in_process

        batches = [texts.items(BATCH, 50) for _ in range(4)]
        secs, phases = batch_in_process(B, batches)
        out["batch_in_process_deferred"] = {
            "memories": 4 * BATCH,
            "seconds": round(secs, 3),
            "per_s": round(4 * BATCH / secs, 1),
        }
        out["batch_in_process_deferred_phases_s"] = {
            k: round(v, 3) for k, v in sorted(phases.seconds.items(), key=lambda kv: -kv[1])
        }
        print(f"\nin process, 4 batches of 500 into B: {4 * BATCH / secs:,.0f} memories/s; phases (s):")
        table(("step", "seconds"), [*phases.seconds.items(), ("(rest)", secs - sum(phases.seconds.values()))])
        http.close()
    mode = f"ns{args.rows // 1000}k" + (f"-drain{args.drain_workers}" if args.drain_workers > 1 else "")
    write_result("graph_backlog", mode, out, started)
    return out


if __name__ == "__main__":
    main()
