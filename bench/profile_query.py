"""Where a query's time goes, in process: steps, round trips, statements, Python, plans.

    python bench/profile_query.py [--memories 1000,5000] [--queries 300] [--cprofile] [--explain N]
                                  [--analyze] [--session SID] [--store DIR]

Loads one namespace per size with the peer benchmark's texts (``memos.memory.ingest``, calls of
20, session ``s1``; the namespaces past ``MEMOS_ANN_MIN_MEMORIES`` get their HNSW index, as
``bench/bench_peer.py`` does), tables not analyzed unless ``--analyze`` (as right after a bulk
load). Then per size, over the same questions (``bench_query_ab.py``'s), each query as
``memos.retrieval.search.query`` runs it:

- total p50/p95, the process's CPU time a query (p50), and the median of each step of ``timings_ms``, for all queries and for the slowest
  5 % (what the p95 is made of), with the share of queries that took a multi-hop second round, and
  per kind of question (plain, temporal: names a time, multi-hop: took a second round);
- psycopg waits per query (each round trip is one or more) and statements per query;
- ``--cprofile``: the 25 functions with the most own time and the query path's cumulative times;
- ``--session SID``: every query names the session ``SID`` (``s1``, the ingested one: its L1 window);
- ``--explain N``: every statement of N queries replayed under ``EXPLAIN (ANALYZE, BUFFERS)`` (on a
  connection with the pool's session settings, ``memos.store.ann.SEARCH_SETTINGS``, in a transaction
  with the same ``SET LOCAL``s, rolled back), the median execution time and buffers per statement.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, ingest_conversation_once, local_stack, machine, pct


def _key(query: Any) -> str:
    text = " ".join(str(query if isinstance(query, str) else query.as_string(None)).split())
    return text[:70]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", default="1000,5000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--explain", type=int, default=0)
    ap.add_argument("--analyze", action="store_true")
    ap.add_argument("--session", default=None)
    ap.add_argument("--store", type=Path, help="a data dir to keep the store in and reuse")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.memories.split(",")]
    print(machine())
    with local_stack(args.store):
        import psycopg

        from memos.models import QueryRequest
        from memos.retrieval import ann, multihop
        from memos.retrieval.search import query
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store.ann import SEARCH_SETTINGS

        for n in sizes:
            ingest_conversation_once(f"ab-{n}", n)
        ann.maintain()
        if args.analyze:
            with admin_conn() as c:
                c.execute("ANALYZE")
        asked = TextSource(seed=99)
        queries = [asked.query() for _ in range(args.queries + 20)]

        counts = {"waits": 0, "statements": 0}
        wait, execute = psycopg.Connection.wait, psycopg.Cursor.execute
        captured: list[tuple[Any, Any]] | None = None

        def waited(self: Any, gen: Any, *a: Any, **k: Any) -> Any:
            counts["waits"] += 1
            return wait(self, gen, *a, **k)

        def executed(self: Any, q: Any, params: Any = None, *a: Any, **k: Any) -> Any:
            counts["statements"] += 1
            if captured is not None:
                captured.append((q, params))
            return execute(self, q, params, *a, **k)

        psycopg.Connection.wait = waited  # type: ignore[method-assign]
        psycopg.Cursor.execute = executed  # type: ignore[method-assign]
        expand = multihop.expand
        hopped = {"n": 0}

        def counted_expand(*a: Any, **k: Any) -> Any:
            out = expand(*a, **k)
            hopped["n"] += bool(out)
            return out

        multihop.expand = counted_expand  # type: ignore[assignment]
        import memos.retrieval.search as search_mod

        search_mod.multihop.expand = counted_expand  # type: ignore[assignment]

        for n in sizes:
            ns = f"ab-{n}"
            for q in queries[:20]:
                query(QueryRequest(namespace=ns, query=q, top_k=8, session_id=args.session))
            totals: list[float] = []
            cpus: list[float] = []  # the process's CPU time a query (its own work, less load-bound)
            steps: list[dict[str, float]] = []
            waits: list[int] = []
            stmts: list[int] = []
            hops: list[bool] = []
            for q in queries[20:]:
                counts.update(waits=0, statements=0)
                before = hopped["n"]
                t, c = time.perf_counter(), time.process_time()
                r = query(QueryRequest(namespace=ns, query=q, top_k=8, session_id=args.session))
                totals.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
                steps.append(dict(r.timings_ms))
                waits.append(counts["waits"])
                stmts.append(counts["statements"])
                hops.append(hopped["n"] > before)
            p = pct(totals)
            print(
                f"\n=== {n} memories, {len(totals)} queries: p50 {p['p50_ms']} p95 {p['p95_ms']} ms;"
                f" client CPU p50 {pct(cpus)['p50_ms']} ms"
            )
            print(
                f"psycopg waits/query (a round trip is one or more): median {statistics.median(waits)} mean {statistics.mean(waits):.2f};"
                f" statements/query: mean {statistics.mean(stmts):.2f}; multi-hop: {sum(hops)}/{len(hops)}"
            )
            slow = sorted(range(len(totals)), key=lambda i: -totals[i])[: max(1, len(totals) // 20)]
            names = sorted({k for s in steps for k in s})
            print(f"{'step':<12} {'median all':>10} {'median slowest 5%':>18}")
            for k in names:
                every = [s.get(k, 0.0) for s in steps]
                worst = [steps[i].get(k, 0.0) for i in slow]
                print(f"{k:<12} {statistics.median(every):10.3f} {statistics.median(worst):18.3f}")
            print(
                f"slowest 5%: multi-hop {sum(hops[i] for i in slow)}/{len(slow)},"
                f" psycopg waits median {statistics.median([waits[i] for i in slow])}"
            )
            hop_t = [totals[i] * 1000 for i in range(len(totals)) if hops[i]]
            flat_t = [totals[i] * 1000 for i in range(len(totals)) if not hops[i]]
            if hop_t and flat_t:
                print(
                    f"p50 with multi-hop {statistics.median(hop_t):.2f} ms,"
                    f" without {statistics.median(flat_t):.2f} ms"
                )
            # Per kind of question: multi-hop (a second round ran), temporal (names a time), plain.
            kind = [
                "multi-hop" if hops[i] else "temporal" if parse_time_range(q) else "plain"
                for i, q in enumerate(queries[20:])
            ]
            kinds = ("plain", "temporal", "multi-hop")
            print(f"{'median ms':<12}" + "".join(f"{k:>11}" for k in kinds))
            print(f"{'queries':<12}" + "".join(f"{kind.count(k):>11}" for k in kinds))
            for k in ["total", *(n for n in names if n != "total")]:
                cells = []
                for kd in kinds:
                    got = [steps[i].get(k, 0.0) for i in range(len(steps)) if kind[i] == kd]
                    cells.append(f"{statistics.median(got):11.3f}" if got else f"{'-':>11}")
                print(f"{k:<12}" + "".join(cells))
            if args.cprofile:
                prof = cProfile.Profile()
                prof.enable()
                for q in queries[20:]:
                    query(QueryRequest(namespace=ns, query=q, top_k=8, session_id=args.session))
                prof.disable()
                out = io.StringIO()
                st = pstats.Stats(prof, stream=out)
                st.sort_stats("tottime").print_stats(25)
                st.sort_stats("cumulative").print_stats(
                    r"memos/(retrieval|store|governance|kernel|models)", 40
                )
                print(out.getvalue())
            if args.explain:
                per: dict[str, list[tuple[float, str]]] = defaultdict(list)
                # One connection for every replay, with the pool's session settings (memos.store.db):
                # a new one per query started each replay on cold caches (the candidate statement's
                # execution then read 7-9 ms at 5k against ~1.9 ms warm).
                with admin_conn() as c:
                    for setting in SEARCH_SETTINGS:
                        c.execute(setting)
                    for q in queries[20 : 20 + args.explain]:
                        captured = []
                        query(QueryRequest(namespace=ns, query=q, top_k=8, session_id=args.session))
                        run, captured = captured, None
                        c.execute("BEGIN")
                        for stmt, params in run:
                            text = stmt if isinstance(stmt, str) else stmt.as_string(c)
                            head = text.lstrip().upper()
                            if head.startswith(("SET", "COMMIT", "BEGIN")):
                                if head.startswith("SET"):
                                    c.execute(text)
                                continue
                            if head.startswith(("INSERT", "UPDATE", "DELETE", "WITH INS")):
                                continue
                            plan = c.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params).fetchall()
                            lines = [next(iter(row.values())) for row in plan]
                            ex = next(
                                float(m.group(1))
                                for ln in lines
                                if (m := re.search(r"Execution Time: ([\d.]+)", ln))
                            )
                            bufs = next((ln.strip() for ln in lines if "Buffers:" in ln), "")
                            per[_key(text)].append((ex, bufs))
                        c.execute("ROLLBACK")
                print(f"{'exec ms (median)':>16} {'runs':>5}  statement / first buffers line")
                for k, v in sorted(per.items(), key=lambda kv: -statistics.median(x for x, _ in kv[1])):
                    print(f"{statistics.median(x for x, _ in v):16.3f} {len(v):5d}  {k}\n{'':23}{v[0][1]}")


if __name__ == "__main__":
    main()
