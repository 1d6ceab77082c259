"""A multi-part question's part walks: recall against exact distance and time, by ``hnsw.ef_search``.

    python bench/bench_part_walk.py --data-dir DIR [--questions 60] [--ef 140,100,80,60,40] [--rounds 3]

On the store ``bench_query.py --data-dir DIR`` kept (its large namespace, which has its own graph),
the parts of multi-part questions (``memos.retrieval.multihop.split_question`` on questions of the
benchmark's generator, ``bench_common.TextSource``, until ``--questions`` have parts) are embedded as
the second round embeds them, and for each part the vector walk the second round runs
(``bench_query.nearest_statement``: the namespace's graph walk with its backlog, planned without
sorts) takes the part's ``multihop.PROBE_LIMIT`` nearest at each ``--ef``, the values alternating
part by part. Reports, per ef_search, the mean share of the exact nearest ``PROBE_LIMIT`` (distance
over every live row of the namespace) the walk returned, and the statement's p50/p95 (``--rounds``
runs of each, the first not timed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, local_stack, machine, pct, table, write_result
from bench_query import _EXACT, SORTED, TARGET, UNSORTED, nearest_statement


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--ef", default="140,100,80,60,40")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    started = machine()
    efs = [int(x) for x in args.ef.split(",")]
    if not (args.data_dir / "bench_query.json").exists():
        raise SystemExit(f"{args.data_dir} holds no store of bench_query.py")
    with local_stack(args.data_dir), admin_conn() as conn:
        from memos.embeddings import get_embedder
        from memos.retrieval.multihop import PROBE_LIMIT, split_question
        from memos.store import ann

        source = TextSource(seed=41)
        parts: list[str] = []
        asked = 0
        while asked < args.questions:
            q = source.query()
            split = split_question(q)
            if len(split) >= 2:
                parts += split
                asked += 1
        vecs = get_embedder().embed(parts)
        for statement in ann.SEARCH_SETTINGS:
            conn.execute(statement)
        walk = nearest_statement(conn, TARGET)
        exact = [
            {r["id"] for r in conn.execute(_EXACT, {"qvec": v, "n": PROBE_LIMIT, "ns": TARGET}).fetchall()}
            for v in vecs
        ]
        shares: dict[int, list[float]] = {ef: [] for ef in efs}
        times: dict[int, list[float]] = {ef: [] for ef in efs}
        conn.execute(UNSORTED)
        for i, v in enumerate(vecs):
            order = efs[i % len(efs) :] + efs[: i % len(efs)]
            for rnd in range(args.rounds):
                for ef in order:
                    conn.execute(f"SET hnsw.ef_search = {ef}")
                    t = time.perf_counter()
                    got = {r["id"] for r in conn.execute(walk, {"qvec": v, "n": PROBE_LIMIT, "ns": TARGET})}
                    if rnd:
                        times[ef].append(time.perf_counter() - t)
                    elif exact[i]:
                        shares[ef].append(len(exact[i] & got) / len(exact[i]))
        conn.execute(SORTED)
        out: dict[str, Any] = {
            "questions": asked,
            "parts": len(parts),
            "limit": PROBE_LIMIT,
            "by_ef_search": {},
        }
        for ef in efs:
            out["by_ef_search"][str(ef)] = {
                "recall": round(statistics.mean(shares[ef]), 4),
                **pct(times[ef]),
            }
    print(f"{asked} questions, {len(parts)} parts, the nearest {PROBE_LIMIT} of each in {TARGET}")
    table(
        ("ef_search", f"recall@{PROBE_LIMIT}", "p50 ms", "p95 ms"),
        [(ef, r["recall"], r["p50_ms"], r["p95_ms"]) for ef, r in out["by_ef_search"].items()],
    )
    print(json.dumps(out["by_ef_search"]))
    write_result("part_walk", "kept", out, started)
    return out


if __name__ == "__main__":
    main()
