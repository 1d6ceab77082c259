"""Vector recall@10 of a namespace's HNSW index against exact distance, by ``hnsw.ef_search``.

    python bench/bench_recall.py [--rows 100000] [--queries 60]

Loads ROWS memories into one namespace (``bench_common.bulk_load``: the same rows as
``bench_query.py``; the decay job's index maintenance builds the namespace's partial HNSW index),
then for each ef_search runs the query path's vector statement (``bench_query.nearest_statement``:
the namespace's graph walk, the namespace as a literal so its index serves, with its backlog) and an exact scan of the namespace, and reports the
mean share of the exact top 10 found, with the statement's p50/p95.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench_common import TextSource, admin_conn, bulk_load, local_stack, machine, table, write_result
from bench_query import _EXACT, SORTED, UNSORTED, nearest_statement

NS = "bench-recall"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args(argv)
    started = machine()
    texts = TextSource(seed=23)
    out: dict[str, Any] = {"rows": args.rows, "queries": args.queries, "by_ef_search": {}}
    with local_stack(), admin_conn() as conn:
        out["load_s"] = bulk_load(conn, {NS: args.rows}, texts, age_days=120)
        from memos.embeddings import get_embedder

        vecs = get_embedder().embed([texts.query() for _ in range(args.queries)])
        exact = [
            {r["id"] for r in conn.execute(_EXACT, {"qvec": v, "n": 10, "ns": NS}).fetchall()} for v in vecs
        ]
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        nearest = nearest_statement(conn, NS)
        for ef in (40, 80, 100, 120, 160, 240, 400):
            conn.execute(f"SET hnsw.ef_search = {ef}")
            shares, lat = [], []
            for v, want in zip(vecs, exact, strict=True):
                conn.execute(UNSORTED)
                t = time.perf_counter()
                got = {r["id"] for r in conn.execute(nearest, {"qvec": v, "n": 40, "ns": NS}).fetchall()[:10]}
                lat.append(time.perf_counter() - t)
                conn.execute(SORTED)
                shares.append(len(got & want) / max(1, len(want)))
            lat.sort()
            out["by_ef_search"][ef] = {
                "recall_at_10": round(statistics.mean(shares), 3),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                "p95_ms": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 2),
            }
    table(
        ("ef_search", "recall@10", "p50 ms", "p95 ms"),
        [(ef, r["recall_at_10"], r["p50_ms"], r["p95_ms"]) for ef, r in out["by_ef_search"].items()],
    )
    write_result("recall", f"{args.rows // 1000}k", out, started)
    return out


if __name__ == "__main__":
    main()
