"""One exact pass for the vector and the temporal retriever, against the two passes the query runs.

    python bench/bench_shared_exact_pass.py [--memories 1000] [--repeat 4]

In a namespace without its own graph (below ``MEMOS_ANN_MIN_MEMORIES``) a question naming a time
runs two exact passes in its candidate statement (``memos.store.candidates``): every row's distance
for the vector retriever, the range's rows' distances again for the temporal one. The candidate
(issue #12, not adopted): one pass, each row's distance computed once into a materialized common
table expression with whether it lies in the range, then the ``n`` nearest of all and of those in
range. Loads one namespace (the peer benchmark's texts, ``ingest_conversation``), then for ranges
holding 0 %, 10 %, 50 % and 100 % of its time span runs the benchmark's questions naming a time
(``TextSource(seed=99)``, repeated ``--repeat`` times), both statements one after the other, the
first alternating, prepared, each checked to return the same rows; prints the statement's p50/p95
on each side and their ratio (shared / two passes).
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

from bench_common import TextSource, ingest_conversation, local_stack, machine, pct, table, write_result


def shared_pass(where: str, row_columns: str) -> tuple[str, list[str]]:
    """The candidate: the ``dists`` CTE and the two retrievers' parts reading it."""
    cte = (
        "dists AS MATERIALIZED (SELECT ctid AS at, embedding <=> %(qvec)s AS dist,"
        f" occurred_at >= %(t0)s AND occurred_at < %(t1)s AS in_range FROM memories WHERE {where})"
    )
    parts = [
        f"(SELECT m.*, 1 - d.dist AS vsim, '{src}' AS src FROM (SELECT at, dist FROM dists{cond}"
        " ORDER BY dist LIMIT %(n)s) d"
        f" CROSS JOIN LATERAL (SELECT {row_columns} FROM memories m0 WHERE m0.ctid = d.at OFFSET 0) m)"
        for cond, src in (("", "vector"), (" WHERE in_range", "temporal"))
    ]
    return cte, parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=4)
    args = ap.parse_args()
    started = machine()
    out: dict[str, Any] = {"memories": args.memories, "by_share": {}}
    rows_out = []
    with local_stack():
        from memos.embeddings import get_embedder
        from memos.models import QueryRequest
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store import candidates as c
        from memos.store import db

        ingest_conversation("shared-pass", args.memories)
        asked = TextSource(seed=99)
        timed = [q for q in dict.fromkeys(asked.query() for _ in range(400)) if parse_time_range(q)]
        embedder = get_embedder()
        with db.connection() as conn:
            span = conn.execute(
                "SELECT min(occurred_at) AS lo, max(occurred_at) AS hi FROM memories WHERE namespace = 'shared-pass'"
            ).fetchone()
            lo, width = span["lo"], span["hi"] - span["lo"]
            for share in (0.0, 0.1, 0.5, 1.0):
                t0, t1 = lo - timedelta(seconds=1), lo + width * share + timedelta(seconds=share == 1.0)
                times: dict[str, list[float]] = {"two passes": [], "shared": []}
                in_range = 0
                for i, q in enumerate(timed * args.repeat):
                    where, params = c.filters_sql(QueryRequest(namespace="shared-pass", query=q))
                    params.update(qvec=embedder.embed([q])[0], n=80, t0=t0, t1=t1)
                    two = c._with_terms(
                        [
                            c._exact_nearest(where, "vector"),
                            c._exact_nearest(
                                where + " AND occurred_at >= %(t0)s AND occurred_at < %(t1)s", "temporal"
                            ),
                        ]
                    )
                    cte, parts = shared_pass(where, c.ROW_COLUMNS)
                    one = c._with_terms(parts, [cte])
                    got = {}
                    order = (("two passes", two), ("shared", one))
                    for side, statement in order if i % 2 == 0 else order[::-1]:
                        t = time.perf_counter()
                        found = c._rows_cursor(conn).execute(statement, params, prepare=True).fetchall()
                        if i >= 10:  # the first ten warm both
                            times[side].append(time.perf_counter() - t)
                        got[side] = sorted((str(r["id"]), r["src"], r["vsim"]) for r in found)
                    assert got["two passes"] == got["shared"], q
                    in_range = sum(1 for r in got["shared"] if r[1] == "temporal")
                conn.rollback()
                a, b = pct(times["two passes"]), pct(times["shared"])
                out["by_share"][share] = {"two_passes": a, "shared": b, "temporal_rows": in_range}
                for k in ("p50_ms", "p95_ms"):
                    rows_out.append((f"{share:.0%} ({in_range} rows)", k[:3], a[k], b[k], b[k] / a[k]))
    table(("range (temporal rows)", "measure", "two passes", "shared", "shared/two"), rows_out)
    write_result("shared_exact_pass", str(args.memories), out, started)


if __name__ == "__main__":
    main()
