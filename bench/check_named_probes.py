"""What ranking only the newest part of a bridge's evidence list changes (``memos.store.expansion``,
``RANKED_EVIDENCE``): for each question whose second round has named probes, the probes' rows and the
question's top 10 with the whole list ranked (``--reference``, the old behaviour) and with each
``--ranked`` value, on the same connection, alternating; and the probes' statement's client time.

    python bench/check_named_probes.py [--memories 5000,100000] [--queries 300] [--ranked 250]
        [--data-dir DIR]

The peer benchmark's texts (``ingest_conversation``: people, places, jobs) and questions
(``TextSource(seed=99)``, as ``bench_query_ab.py`` and ``profile_second_round.py`` ask them).
``--data-dir DIR`` keeps the store (a namespace already holding its memories is not ingested again).
Reports per size: questions with named probes, the mean share of the reference's probe rows found,
the mean share of the reference's top 10 in the top 10 and how many top 10s are the same, and the
median client time of the probes' statement per setting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, ingest_conversation_once, local_stack, machine, write_result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", default="5000,100000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--ranked", default="250")
    ap.add_argument("--reference", type=int, default=1000)
    ap.add_argument("--data-dir", type=Path)
    args = ap.parse_args(argv)
    settings = [args.reference] + [int(k) for k in args.ranked.split(",")]
    started = machine()
    print(started)
    report: dict[str, Any] = {"settings": settings, "queries": args.queries, "by_size": {}}
    with local_stack(args.data_dir):
        from memos.models import QueryRequest
        from memos.retrieval import ann
        from memos.retrieval import search as search_mod
        from memos.store import expansion

        probes_and_parts = expansion.probes_and_parts
        seen: dict[str, Any] = {}
        for n in [int(x) for x in args.memories.split(",")]:
            ns = f"ab-{n}"
            ingest_conversation_once(ns, n)
            ann.maintain()
            asked = TextSource(seed=99)
            questions = [asked.query() for _ in range(args.queries + 20)]
            seen.update(named=False, rows={}, ms={k: [] for k in settings})

            def traced(conn: Any, req: Any, qvec: Any, probes: Any, limit: Any, **kw: Any) -> Any:
                if not any(name is not None for _, name in probes):
                    return probes_and_parts(conn, req, qvec, probes, limit, **kw)
                seen["named"] = True
                kept = expansion.RANKED_EVIDENCE
                out = None
                order = settings if len(seen["ms"][settings[0]]) % 2 == 0 else settings[::-1]
                for k in order:  # every setting on the same connection, alternating the first
                    expansion.RANKED_EVIDENCE = k
                    t = time.perf_counter()
                    got = probes_and_parts(conn, req, qvec, probes, limit, **kw)
                    if kept == settings[0]:  # timed once a question
                        seen["ms"][k].append((time.perf_counter() - t) * 1000)
                    named = {i for i, (_, name) in enumerate(probes) if name is not None}
                    seen["rows"][k] = {(r["probe"], r["id"]) for r in got[0] if r["probe"] in named}
                    if k == kept:
                        out = got
                expansion.RANKED_EVIDENCE = kept
                return out

            expansion.probes_and_parts = traced  # type: ignore[assignment]
            probe_share: dict[int, list[float]] = {k: [] for k in settings[1:]}
            top_share: dict[int, list[float]] = {k: [] for k in settings[1:]}
            same: dict[int, int] = {k: 0 for k in settings[1:]}
            asked_named = 0
            try:
                for i, q in enumerate(questions):
                    req = QueryRequest(namespace=ns, query=q, top_k=10)
                    seen["named"] = False
                    tops = {}
                    for k in settings:
                        expansion.RANKED_EVIDENCE = k
                        tops[k] = [r.memory_id for r in search_mod.query(req).results]
                    if i < 20 or not seen["named"]:
                        continue
                    asked_named += 1
                    ref_rows, ref_top = seen["rows"][settings[0]], tops[settings[0]]
                    for k in settings[1:]:
                        if ref_rows:
                            probe_share[k].append(len(ref_rows & seen["rows"][k]) / len(ref_rows))
                        top_share[k].append(len(set(ref_top) & set(tops[k])) / max(1, len(ref_top)))
                        same[k] += tops[k] == ref_top
            finally:
                expansion.probes_and_parts = probes_and_parts
                expansion.RANKED_EVIDENCE = settings[0]
            with admin_conn() as conn:
                lists = conn.execute(
                    "SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY cardinality(evidence)) AS p,"
                    " max(cardinality(evidence)) AS mx FROM entities WHERE namespace = %s",
                    (ns,),
                ).fetchone()
            print(f"\n=== {ns}: {asked_named} of {args.queries} questions with named probes;"
                  f" evidence list length p50/p90/max {lists['p']} / {lists['mx']}")  # fmt: skip
            for k in settings[1:]:
                print(
                    f"ranked {k} vs {settings[0]}: probe rows kept {statistics.mean(probe_share[k] or [1]):.3f},"
                    f" top-10 kept {statistics.mean(top_share[k] or [1]):.3f}, same top 10 {same[k]}/{asked_named}"
                )
            for k in settings:
                ms = seen["ms"][k] or [0.0]
                print(f"ranked {k}: probes' statement client ms p50 {statistics.median(ms):.2f}")
            report["by_size"][n] = {
                "questions_with_named_probes": asked_named,
                "evidence_list_p50_p90_max": [*lists["p"], lists["mx"]],
                "vs_reference": {
                    k: {
                        "probe_rows_kept": round(statistics.mean(probe_share[k] or [1]), 4),
                        "top10_kept": round(statistics.mean(top_share[k] or [1]), 4),
                        "same_top10": same[k],
                    }
                    for k in settings[1:]
                },
                "probes_statement_client_ms_p50": {
                    k: round(statistics.median(seen["ms"][k] or [0.0]), 3) for k in settings
                },
            }
    write_result("check_named_probes", args.memories.replace(",", "-"), report, started)


if __name__ == "__main__":
    main()
