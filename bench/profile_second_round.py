"""The second round (``memos.retrieval.multihop``), statement by statement: for each question that
runs one, its probes (parts: a graph walk each; bridges: an entity's evidence list each) and each
statement ``memos.store.expansion.probes_and_parts`` sends, replayed right after it under
``EXPLAIN (ANALYZE, BUFFERS)`` in the query's own transaction, with its ``SET LOCAL``s.

    python bench/profile_second_round.py [--memories 5000] [--queries 300] [--show 1] [--store DIR]

Medians per kind of second round (parts and named probes): the statements' client time in the query
(the pipeline: sent together, one wait), each statement's planning and execution time and shared
buffers, the graph walks (index scans of the namespace's HNSW index, loops) and the rows. ``--show N``:
the plans of the first N second rounds of each kind.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import TextSource, ingest_conversation_once, local_stack, machine


def _explain(conn: Any, text: str, params: Any) -> list[str]:
    rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params).fetchall()
    return [next(iter(r.values())) for r in rows]


def _number(pattern: str, plan: list[str]) -> float:
    m = re.search(pattern, "\n".join(plan))
    return float(m.group(1)) if m else 0.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--show", type=int, default=1)
    ap.add_argument("--store", type=Path, help="a data dir to keep the store in and reuse")
    args = ap.parse_args(argv)
    print(machine())
    with local_stack(args.store):
        from memos.models import QueryRequest
        from memos.retrieval import ann
        from memos.retrieval import search as search_mod
        from memos.store import expansion

        ns = f"ab-{args.memories}"
        ingest_conversation_once(ns, args.memories)
        ann.maintain()
        asked = TextSource(seed=99)
        questions = [asked.query() for _ in range(args.queries + 20)]
        probes_and_parts = expansion.probes_and_parts
        per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        shown: dict[str, int] = defaultdict(int)
        state = {"on": False}

        def traced(conn: Any, req: Any, qvec: Any, probes: Any, limit: Any, **k: Any) -> Any:
            sent: list[tuple[str, Any]] = []
            execute = type(conn).execute

            def grab(self: Any, q: Any, params: Any = None, *a: Any, **kw: Any) -> Any:
                sent.append((q if isinstance(q, str) else q.as_string(self), params))
                return execute(self, q, params, *a, **kw)

            type(conn).execute = grab  # type: ignore[method-assign]
            t = time.perf_counter()
            try:
                out = probes_and_parts(conn, req, qvec, probes, limit, **k)
            finally:
                type(conn).execute = execute  # type: ignore[method-assign]
            client = (time.perf_counter() - t) * 1000
            if not state["on"]:
                return out
            free = sum(1 for _, name in probes if name is None)
            kind = f"{free} parts, {len(probes) - free} named"
            cells = per[kind]
            cells["client (all statements)"].append(client)
            cells["rows"].append(len(out[0]))
            plans = []
            for text, params in sent:  # the same transaction: replayed with its SET LOCALs in order
                if text.lstrip().upper().startswith("SET"):
                    conn.execute(text)
                    continue
                _explain(conn, text, params)  # the second run's (pages and plans warm, like the query's)
                plan = _explain(conn, text, params)
                plans.append(plan)
                label = (
                    "probes" if "AS probe, x.*" in text else "part sims" if "AS psim" in text else "evidence"
                )
                cells[f"{label}: plan ms"].append(_number(r"Planning Time: ([\d.]+)", plan))
                cells[f"{label}: exec ms"].append(_number(r"Execution Time: ([\d.]+)", plan))
                cells[f"{label}: buffers"].append(_number(r"^\s*Buffers: shared hit=(\d+)", [plan[1]]))
                if label == "probes":
                    walks = [ln for ln in plan if "Index Scan using memories_ann_" in ln]
                    cells["probes: walks"].append(
                        sum(int(m.group(1)) for ln in walks for m in [re.search(r"loops=(\d+)", ln)] if m)
                    )
            if shown[kind] < args.show:
                shown[kind] += 1
                print(f"\n--- {kind}: {req.query!r}\n" + "\n\n".join("\n".join(p) for p in plans))
            return out

        expansion.probes_and_parts = traced  # type: ignore[assignment]
        for q in questions[:20]:
            search_mod.query(QueryRequest(namespace=ns, query=q, top_k=8))
        state["on"] = True
        for q in questions[20:]:
            search_mod.query(QueryRequest(namespace=ns, query=q, top_k=8))
        print(f"\n=== {ns}: second rounds of {args.queries} questions, medians")
        for kind, cells in sorted(per.items()):
            print(f"{kind} ({len(cells['rows'])} questions)")
            for name, values in cells.items():
                print(f"  {name:<28}{statistics.median(values):10.3f}")
        print(machine()["loadavg"])


if __name__ == "__main__":
    main()
