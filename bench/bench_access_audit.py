"""What the access audit adds to a query: ``search.query`` and ``access_audit.record_read`` timed
side by side, interleaved, in process, on one namespace of the local stack.

    python bench/bench_access_audit.py [--memories N] [--queries Q]

The audit write is one INSERT of one row (the ids handed out in ``details``) on its own pooled
connection, after the query committed; ``off`` is the same call with ``audit_reads: false`` (the
policy lookup only).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_common import local_stack, machine, pct, table, write_result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args(argv)
    started = machine()
    with local_stack():
        from memos.governance import access_audit, policy_store
        from memos.memory.ingest import ingest
        from memos.models import IngestItem, QueryRequest
        from memos.retrieval import search

        ns = "bench-audit"
        words = [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "kettle",
            "garden",
            "invoice",
            "boiler",
            "laptop",
            "river",
            "castle",
            "piano",
        ]
        for start in range(0, args.memories, 500):
            items = [
                IngestItem(
                    session_id=f"s{i % 20}",
                    role="user",
                    text=f"turn {i}: the {words[i % 12]} near the {words[(i * 7) % 12]} was {i % 97}",
                )
                for i in range(start, min(args.memories, start + 500))
            ]
            ingest(ns, items)
        samples: dict[str, list[float]] = {"query": [], "audit on": [], "audit off": []}
        for mode in ("audit on", "audit off"):
            policy_store.put_policy(ns, {"audit_reads": mode == "audit on"}, actor=None, request_id=None)
            for q in range(args.queries):
                req = QueryRequest(namespace=ns, query=f"where was the {words[q % 12]}", session_id="s1")
                t = time.perf_counter()
                resp = search.query(req)
                samples["query"].append(time.perf_counter() - t)
                t = time.perf_counter()
                access_audit.record_read(
                    "query",
                    namespace=ns,
                    session_id=req.session_id,
                    actor="bench",
                    request_id=None,
                    memory_ids=access_audit.returned_ids(resp),
                )
                samples[mode].append(time.perf_counter() - t)
    stats = {k: pct(v) for k, v in samples.items()}
    table(["what", "p50 ms", "p95 ms"], [[k, s["p50_ms"], s["p95_ms"]] for k, s in stats.items()])
    payload = {"memories": args.memories, "queries": args.queries, "stats": stats}
    write_result("access_audit", "default", payload, started)
    return payload


if __name__ == "__main__":
    main()
