"""Where a query's time goes, per function, in wall and in CPU time, in process.

    python bench/profile_query_cpu.py [--memories 1000,5000] [--queries 300] [--data-dir DIR]

Loads one namespace per size as ``bench/profile_query.py`` does (the peer benchmark's texts, calls of
20; the namespaces past ``MEMOS_ANN_MIN_MEMORIES`` get their HNSW index), or reuses the store a
previous ``--data-dir DIR`` run kept. Then each question (``bench_query_ab.py``'s) runs through
``memos.retrieval.search.query`` with the steps it calls wrapped: each call's wall time and the
process's CPU time (``time.process_time``) are kept, and the median (and mean) of each printed per
size, with the query's total and what the wrapped steps leave (connection checkout, merging,
sorting). On a shared machine the wall times carry the scheduler's waits; the CPU times are the
client's own work and move far less with the load. No statement is changed or replayed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import TextSource, ingest_conversation, local_stack, machine

# (module attribute path under memos.retrieval.search, label); the first group is the query's own
# sequence of steps (their sum is compared with the total), the second are parts of them.
TOP = [
    ("parse_time_range", "time range"),
    ("entities.names_to_look_up", "entity names"),
    ("content_terms", "content terms"),
    ("first_reads.read", "first reads + embed"),
    ("lexical.query_terms", "lexical terms"),
    ("candidates.fetch", "candidates"),
    ("multihop.expand", "second round"),
    ("entities.memory_entity_overlap", "entity overlap"),
    ("score_candidates", "scoring"),
    ("_answer", "pack + response + write"),
]
PARTS = [
    ("context_pack.build", "  pack"),
    ("_response", "  response model"),
    ("context_packs.insert", "  stored pack statement"),
]


def _wrap(owner: Any, name: str, label: str, rec: dict[str, list[tuple[float, float]]]) -> None:
    f: Callable[..., Any] = getattr(owner, name)

    def timed(*a: Any, **k: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            rec.setdefault(label, []).append(
                ((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
            )

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", default="1000,5000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--data-dir", type=Path, help="keep the store here (reused when it exists)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.memories.split(",")]
    print(machine())
    fresh = args.data_dir is None or not args.data_dir.exists()
    with local_stack(args.data_dir):
        import memos.retrieval.search as search
        from memos.models import QueryRequest
        from memos.retrieval import ann

        if fresh:
            for n in sizes:
                ingest_conversation(f"ab-{n}", n)
            ann.maintain()
        rec: dict[str, list[tuple[float, float]]] = {}
        for path, label in TOP + PARTS:
            *owners, name = path.split(".")
            owner: Any = search
            for o in owners:
                owner = getattr(owner, o)
            _wrap(owner, name, label, rec)
        asked = TextSource(seed=99)
        queries = [asked.query() for _ in range(args.queries + 20)]
        for n in sizes:
            ns = f"ab-{n}"
            for q in queries[:20]:
                search.query(QueryRequest(namespace=ns, query=q, top_k=8))
            rec.clear()
            totals: list[tuple[float, float]] = []
            for q in queries[20:]:
                t, c = time.perf_counter(), time.process_time()
                search.query(QueryRequest(namespace=ns, query=q, top_k=8))
                totals.append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000))
            left = [
                (
                    totals[i][0] - sum(rec[lb][i][0] for _, lb in TOP),
                    totals[i][1] - sum(rec[lb][i][1] for _, lb in TOP),
                )
                for i in range(len(totals))
            ]
            print(f"\n=== {n} memories, {len(totals)} queries (ms)")
            print(f"{'step':<26} {'wall p50':>9} {'wall mean':>10} {'CPU p50':>8} {'CPU mean':>9}")
            for label, got in [("total", totals), *((lb, rec[lb]) for _, lb in TOP + PARTS), ("left", left)]:
                walls, cpus = [w for w, _ in got], [c for _, c in got]
                print(
                    f"{label:<26} {statistics.median(walls):9.3f} {statistics.mean(walls):10.3f}"
                    f" {statistics.median(cpus):8.3f} {statistics.mean(cpus):9.3f}"
                )
    print(machine())


if __name__ == "__main__":
    main()
