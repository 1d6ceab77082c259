"""Reads beside the request's own (``memos.store.db.aside``) on and off, alternating, in one process.

    python bench/bench_aside.py --data-dir DIR [--queries 300] [--rounds 2] [--kinds temporal,multi-hop]

On the store ``bench_query.py --data-dir DIR`` kept (its large namespace has its own graph), each
question runs through ``memos.retrieval.search.query`` (top 8) twice in a row, once with the second
connection allowed (``ASIDE_WAIT_S`` as shipped) and once without (``ASIDE_WAIT_S`` 0: no second
connection, so a question's parts are walked on the request's connection, as before), the first
side alternating question by question, ``--rounds`` times over the questions (plain questions and
those naming a time run the same way on both sides: a control).
Reports p50/p95 of each side per kind of question (plain; temporal: names a time; parts: the
question has parts, ``multihop.split_question``), their ratio, and how many answers were the same
(results with their scores and components, the context pack's text).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import local_stack, machine, pct, table, write_result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--namespace", default="bench-q-main")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--kinds", default="plain,temporal,parts", help="which kinds of question to ask")
    args = ap.parse_args(argv)
    started = machine()
    questions = json.loads((args.data_dir / "bench_query.json").read_text())["queries"][: args.queries]
    with local_stack(args.data_dir):
        from memos.models import QueryRequest
        from memos.retrieval.multihop import split_question
        from memos.retrieval.search import query
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store import db

        shipped = db.ASIDE_WAIT_S

        def kind(q: str) -> str:
            return "parts" if len(split_question(q)) >= 2 else "temporal" if parse_time_range(q) else "plain"

        asked = [q for q in questions if kind(q) in args.kinds.split(",")]

        def run(q: str, aside: bool) -> tuple[float, Any]:
            db.ASIDE_WAIT_S = shipped if aside else 0.0
            t = time.perf_counter()
            r = query(QueryRequest(namespace=args.namespace, query=q, top_k=8))
            took = time.perf_counter() - t
            return took, (
                [(str(x.memory_id), x.score, x.components) for x in r.results],
                r.context_pack.text,
            )

        for q in asked[:20]:  # warm both ways (the pool opens its second connection)
            run(q, True)
            run(q, False)
        times: dict[tuple[str, str], list[float]] = defaultdict(list)
        same = total = 0
        load0 = os.getloadavg()
        for rnd in range(args.rounds):
            for i, q in enumerate(asked):
                got = {}
                for aside in (True, False) if (i + rnd) % 2 == 0 else (False, True):
                    took, got[aside] = run(q, aside)
                    for k in (kind(q), "all"):
                        times[(k, "aside" if aside else "inline")].append(took)
                same += got[True] == got[False]
                total += 1
        db.ASIDE_WAIT_S = shipped
        out: dict[str, Any] = {
            "questions": len(asked),
            "rounds": args.rounds,
            "same_answers": f"{same}/{total}",
            "loadavg_before_runs": [round(x, 2) for x in load0],
            "by_kind": {},
        }
        rows = []
        for k in ("plain", "temporal", "parts", "all"):
            if (k, "aside") not in times:
                continue
            a, b = pct(times[(k, "inline")]), pct(times[(k, "aside")])
            out["by_kind"][k] = {"inline": a, "aside": b}
            rows.append((k, a["n"], a["p50_ms"], b["p50_ms"], round(b["p50_ms"] / a["p50_ms"], 2)))
            rows.append(("", "", a["p95_ms"], b["p95_ms"], round(b["p95_ms"] / a["p95_ms"], 2)))
    print(f"{len(asked)} questions x {args.rounds}; same answers {same}/{total}; p50 then p95 (ms)")
    table(("kind", "n", "inline", "aside", "aside/inline"), rows)
    write_result("aside", "kept", out, started)
    return out


if __name__ == "__main__":
    main()
