"""The candidates step's first round of this checkout against another checkout's, statement by statement.

    python bench/bench_candidates_ab.py --base PATH [--memories 5000] [--questions 120] [--rounds 4]
    python bench/bench_candidates_ab.py --base PATH --data-dir DIR [--questions 120] [--rounds 4]

PATH is a checkout of the code to compare with (e.g. ``git worktree add ../memos-base main``); its
``memos.store.candidates`` module is loaded beside this one's (the rest of the code is this
checkout's). A fresh local stack gets one namespace of ``--memories`` (``bench/profile_query.py``'s
questions and texts), or ``--data-dir`` opens the store ``bench_query.py --data-dir`` kept (its
large namespace and questions). Each question's inputs (its vector, lexical terms, time range,
known entities, ``ef_search``) are computed once; then ``candidates.fetch`` of each side runs in its
own transaction on one pooled connection, the first side alternating, ``--rounds`` times (the first
warms both: pages, prepared statements). Reports each side's p50/p95 and the time spent decoding
rows (``Cursor.fetchall``), and how many calls returned the same rows (id, retriever, similarity,
terms, evidence count); each differing call is listed (a tie in BM25 at the lexical cut lets the plan
choose: which side's row is as good as the other's).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import TextSource, ingest_conversation, local_stack, machine, pct, write_result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--memories", type=int, default=5000)
    ap.add_argument("--questions", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--namespace", default="bench-q-main")
    args = ap.parse_args(argv)
    before = machine()
    print(before)
    with local_stack(args.data_dir) if args.data_dir else local_stack():
        import psycopg

        from memos.embeddings import get_embedder
        from memos.governance import entities
        from memos.kernel.text import content_terms
        from memos.models import QueryRequest
        from memos.retrieval import ann, lexical
        from memos.retrieval.search import CANDIDATE_FLOOR
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store import candidates as this
        from memos.store import db, first_reads

        spec = importlib.util.spec_from_file_location(
            "base_candidates", args.base / "layers/memos/store/candidates.py"
        )
        assert spec is not None and spec.loader is not None
        base = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(base)
        if args.data_dir:
            ns = args.namespace
            questions = json.loads((args.data_dir / "bench_query.json").read_text())["queries"]
        else:
            ns = f"ab-{args.memories}"
            ingest_conversation(ns, args.memories)
            ann.maintain()
            asked = TextSource(seed=99)
            questions = [asked.query() for _ in range(args.questions + 20)][20:]
        questions = questions[: args.questions]
        embedder = get_embedder()
        inputs = []
        with db.connection() as conn:
            for q in questions:
                when = parse_time_range(q)
                first = first_reads.read(conn, ns, content_terms(q), entities.names_to_look_up(q), None)
                stats = lexical.stats_of(*first.counts)
                inputs.append(
                    (
                        QueryRequest(namespace=ns, query=q, top_k=8),
                        embedder.embed([q])[0],
                        lexical.query_terms(q, stats),
                        (when.start, when.end) if when else None,
                        sorted(set(first.known.values())),
                        ann.ef_search_for(first.counts[0]),
                    )
                )
            conn.rollback()
        decode = {"s": 0.0}
        fetchall = psycopg.Cursor.fetchall

        def timed_fetchall(self: Any) -> Any:
            t = time.perf_counter()
            try:
                return fetchall(self)
            finally:
                decode["s"] += time.perf_counter() - t

        psycopg.Cursor.fetchall = timed_fetchall  # type: ignore[method-assign]
        took: dict[str, list[float]] = {"this": [], "base": []}
        decoded: dict[str, list[float]] = {"this": [], "base": []}
        same = calls = 0
        differing: list[str] = []

        def key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return sorted(
                # (a statement of the lexical retriever alone names its column ``?column?``)
                (
                    str(r["id"]),
                    r.get("src", r.get("?column?")),
                    r["vsim"],
                    tuple(r["terms"] or ()),
                    r.get("entity_n"),
                )
                for r in rows
            )

        with db.connection() as conn:
            graph = ann.uses_index(conn, ns)
            for rnd in range(args.rounds):
                for i, (req, qvec, terms, period, names, ef) in enumerate(inputs):
                    got = {}
                    sides = (("this", this), ("base", base))
                    for side, mod in sides if (i + rnd) % 2 else sides[::-1]:
                        decode["s"] = 0.0
                        t = time.perf_counter()
                        rows = mod.fetch(
                            conn, req, qvec, max(CANDIDATE_FLOOR, req.top_k * 4), terms, period,
                            ann_index=graph, entity_names=names, ef_search=ef,
                        )  # fmt: skip
                        dt = time.perf_counter() - t
                        conn.rollback()
                        if rnd:
                            took[side].append(dt)
                            decoded[side].append(decode["s"] * 1000)
                        got[side] = key(rows)
                    if rnd:
                        calls += 1
                        same += got["this"] == got["base"]
                        if got["this"] != got["base"] and rnd == 1:
                            a, b = set(got["this"]), set(got["base"])
                            differing.append(
                                f"{req.query[:60]!r}: only this {[(x[1], round(x[2], 4)) for x in a - b]},"
                                f" only base {[(x[1], round(x[2], 4)) for x in b - a]}"
                            )
        psycopg.Cursor.fetchall = fetchall  # type: ignore[method-assign]
    result: dict[str, Any] = {"namespace": ns, "questions": len(inputs), "rounds": args.rounds}
    for side in ("base", "this"):
        result[side] = pct(took[side]) | {"decode_p50_ms": round(statistics.median(decoded[side]), 3)}
        print(f"{side:<5} {result[side]}")
    ratio = result["this"]["p50_ms"] / result["base"]["p50_ms"]
    ratio95 = result["this"]["p95_ms"] / result["base"]["p95_ms"]
    print(f"this/base p50 {ratio:.2f} p95 {ratio95:.2f}; the same rows {same}/{calls}")
    for line in differing:
        print("  differs (first measured round):", line)
    result.update(same_rows=f"{same}/{calls}", differing_first_round=differing, p50_ratio=round(ratio, 3))
    mode = f"{args.memories}" if not args.data_dir else "kept"
    write_result("candidates_ab", mode, result, before)


if __name__ == "__main__":
    main()
