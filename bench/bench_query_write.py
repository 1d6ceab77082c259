"""What a query's caller waits for in its write (the stored context pack and the access-audit row,
``memos.retrieval.search.query``), and what handing the same pack to a Redis stream would cost.

    python bench/bench_query_write.py [--memories 1000] [--queries 300]

On a fresh local stack, one namespace of the peer benchmark's texts; each query runs as the HTTP
handler runs it (with a reader, so with its access-audit row). Per query: the write step
(``timings_ms["write"]``); of it, the time spent queueing the statements (psycopg's pipeline sends
each as it is queued: building the pack's JSON and parameters), so the rest is the wait for the
commit's answer; then, outside the query, an ``XADD`` of the same pack's JSON to a capped stream
(the cheapest durable hand-off the query could make instead), a ``SELECT 1`` and an empty commit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench_common import TextSource, ingest_conversation, local_stack, machine, table, write_result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args(argv)
    started = machine()
    with local_stack():
        from memos.governance import access_audit
        from memos.models import QueryRequest
        from memos.retrieval import ann, search
        from memos.store import audit, context_packs, db
        from memos.working_memory import get_client

        ns = f"w-{args.memories}"
        ingest_conversation(ns, args.memories)
        ann.maintain()
        texts = TextSource(seed=7)
        questions = [texts.query() for _ in range(args.queries)]
        redis = get_client()
        acc: dict[str, list[float]] = {
            k: [] for k in ("query", "write", "queued", "xadd", "select 1", "commit")
        }
        last: dict[str, Any] = {}
        insert, no_flush_wait = context_packs.insert, audit.commit_without_flush_wait

        def timed_insert(conn: Any, *a: Any, **k: Any) -> None:
            t = time.perf_counter()
            insert(conn, *a, **k)
            last["queued"] = last.get("queued", 0.0) + time.perf_counter() - t
            last["pack"] = a[2]

        def timed_no_flush_wait(conn: Any) -> None:
            t = time.perf_counter()
            no_flush_wait(conn)
            last["queued"] = last.get("queued", 0.0) + time.perf_counter() - t

        search.context_packs.insert = timed_insert  # type: ignore[assignment]
        search.audit.commit_without_flush_wait = timed_no_flush_wait  # type: ignore[assignment]
        reader = access_audit.Reader("query", "bench-key", "bench-request")
        for q in questions:
            last.clear()
            resp = search.query(QueryRequest(namespace=ns, query=q, top_k=8), reader=reader)
            acc["query"].append(resp.timings_ms["total"] / 1000)
            acc["write"].append(resp.timings_ms["write"] / 1000)
            acc["queued"].append(last["queued"])
            body = last["pack"].model_dump_json()
            t = time.perf_counter()
            redis.xadd(
                "{bench}:packs", {"query_id": str(resp.query_id), "pack": body}, maxlen=1000, approximate=True
            )
            acc["xadd"].append(time.perf_counter() - t)
            with db.connection() as conn:
                t = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                acc["select 1"].append(time.perf_counter() - t)
                t = time.perf_counter()
                conn.commit()
                acc["commit"].append(time.perf_counter() - t)
        acc["write - queued"] = [w - q for w, q in zip(acc["write"], acc["queued"], strict=True)]
        out = {
            k: {
                "p50_ms": round(statistics.median(v) * 1000, 3),
                "p95_ms": round(sorted(v)[int(0.95 * len(v))] * 1000, 3),
            }
            for k, v in acc.items()
        }
        table(("per query", "p50 ms", "p95 ms"), [(k, v["p50_ms"], v["p95_ms"]) for k, v in out.items()])
        write_result("query_write", str(args.memories), {"memories": args.memories, "by_step": out}, started)


if __name__ == "__main__":
    main()
