"""What the slowest queries are: the same questions every time (their own cost) or any (the machine).

    python bench/profile_tail.py --data-dir DIR [--passes 3] [--queries 300] [--explain 8]

Opens the store ``bench_query.py --data-dir DIR`` kept (its large namespace and its questions) and
runs its questions ``--passes`` times in process (``memos.retrieval.search.query``, top 8, no
session), each pass in another order. For every query it records the wall time, the steps of
``timings_ms``, the kind of question (plain; temporal: names a time; multi-hop: a second round ran),
the statements sent, and where the time went, from the kernel's per-thread accounting
(``/proc/<pid>/task/<tid>/schedstat``: time on a CPU and time runnable but waiting for one):

- *client CPU* / *client queued*: this thread (Python: parsing, embedding, ranking, packing, psycopg);
- *server CPU* / *server queued*: the PostgreSQL backends the query's connection used;
- *gc*: the garbage collector's pauses inside the query (``gc.callbacks``);
- the rest is neither on a CPU nor queued for one: sleeping (I/O, Redis, locks).

Then: the p50/p95 of each pass; the medians of those parts for all queries and for each pass's
slowest 5 %; whether the slowest 5 % are the same questions from pass to pass; the p95 over the
questions of each question's *fastest* pass (what the tail would be on an idle machine: a question
slow in every pass is slow by its own work); the slowest questions by that measure with their parts.
``--explain N``: each statement of the N slowest questions (by their fastest pass; of one kind with
``--kind``) replayed twice
under ``EXPLAIN (ANALYZE, BUFFERS)`` with the query's ``SET LOCAL``s; the second run's execution and
planning time and shared buffers (hit / read) per statement.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import admin_conn, local_stack, machine, pct


def _schedstat(path: str) -> tuple[int, int]:
    """(ns on a CPU, ns runnable waiting for one) of a task."""
    try:
        with open(path) as f:
            on, queued, _ = f.read().split()
        return int(on), int(queued)
    except (OSError, ValueError):
        return 0, 0


def _key(text: str) -> str:
    return " ".join(text.split())[:90]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--namespace", default="bench-q-main")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--explain", type=int, default=0)
    ap.add_argument("--kind", help="--explain only questions of this kind (plain, temporal, multi-hop)")
    ap.add_argument("--json", type=Path, help="write every query's record here")
    args = ap.parse_args(argv)
    print(machine())
    questions = json.loads((args.data_dir / "bench_query.json").read_text())["queries"][: args.queries]
    with local_stack(args.data_dir):
        import psycopg

        from memos.models import QueryRequest
        from memos.retrieval import multihop
        from memos.retrieval import search as search_mod
        from memos.retrieval.timeexpr import parse_time_range

        me = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        backends: set[int] = set()
        counts = {"statements": 0}
        captured: list[tuple[Any, Any]] | None = None
        wait, execute = psycopg.Connection.wait, psycopg.Cursor.execute

        def waited(self: Any, gen: Any, *a: Any, **k: Any) -> Any:
            backends.add(self.pgconn.backend_pid)
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

        search_mod.multihop.expand = counted_expand  # type: ignore[assignment]
        gc_time = {"t": 0.0, "start": 0.0}

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_time["start"] = time.perf_counter()
            else:
                gc_time["t"] += time.perf_counter() - gc_time["start"]

        gc.callbacks.append(on_gc)

        def backend_stat() -> dict[int, tuple[int, int]]:
            return {pid: _schedstat(f"/proc/{pid}/schedstat") for pid in backends}

        def run(q: str) -> dict[str, Any]:
            counts["statements"] = 0
            gc_time["t"] = 0.0
            before_hop = hopped["n"]
            b0, c0 = backend_stat(), _schedstat(me)
            t = time.perf_counter()
            r = search_mod.query(QueryRequest(namespace=args.namespace, query=q, top_k=8))
            wall = time.perf_counter() - t
            c1, b1 = _schedstat(me), backend_stat()
            s_on = s_q = 0
            for pid, (on, queued) in b1.items():
                on0, q0 = b0.get(pid, (on, queued))  # a backend first seen in this query: not counted
                s_on, s_q = s_on + on - on0, s_q + queued - q0
            kind = "multi-hop" if hopped["n"] > before_hop else "temporal" if parse_time_range(q) else "plain"
            return {
                "wall": wall * 1000,
                "client CPU": (c1[0] - c0[0]) / 1e6,
                "client queued": (c1[1] - c0[1]) / 1e6,
                "server CPU": s_on / 1e6,
                "server queued": s_q / 1e6,
                "gc": gc_time["t"] * 1000,
                "statements": counts["statements"],
                "kind": kind,
                "steps": dict(r.timings_ms),
            }

        for q in questions[:20]:  # warm: prepared statements, pages
            run(q)
        rng = random.Random(7)
        passes: list[list[dict[str, Any]]] = []
        for p in range(args.passes):
            order = list(range(len(questions)))
            rng.shuffle(order)
            got: dict[int, dict[str, Any]] = {}
            load0 = os.getloadavg()[0]
            for i in order:
                got[i] = run(questions[i])
            passes.append([got[i] for i in range(len(questions))])
            walls = [r["wall"] / 1000 for r in passes[-1]]
            print(f"pass {p + 1}: {pct(walls)} load {load0:.2f} -> {os.getloadavg()[0]:.2f}")

        parts = ("wall", "client CPU", "client queued", "server CPU", "server queued", "gc", "statements")
        records = [r for ps in passes for r in ps]
        slow: list[dict[str, Any]] = []
        slow_sets = []
        for ps in passes:
            idx = sorted(range(len(ps)), key=lambda i: -ps[i]["wall"])[: max(1, len(ps) // 20)]
            slow_sets.append(set(idx))
            slow.extend(ps[i] for i in idx)
        print(f"\n{'median':<16}{'all':>10}{'slowest 5%':>12}")
        for name in parts:
            print(
                f"{name:<16}{statistics.median(r[name] for r in records):10.2f}"
                f"{statistics.median(r[name] for r in slow):12.2f}"
            )
        steps = sorted({k for r in records for k in r["steps"]})
        for name in steps:
            print(
                f"step {name:<11}{statistics.median(r['steps'].get(name, 0.0) for r in records):10.2f}"
                f"{statistics.median(r['steps'].get(name, 0.0) for r in slow):12.2f}"
            )
        kinds = defaultdict(int)
        for r in slow:
            kinds[r["kind"]] += 1
        every = defaultdict(int)
        for r in passes[0]:
            every[r["kind"]] += 1
        print(f"kinds, slowest 5% of the passes: {dict(kinds)}; all questions: {dict(every)}")
        if len(slow_sets) > 1:
            common = set.intersection(*slow_sets)
            print(
                f"slowest 5% of each pass ({len(slow_sets[0])}): {len(common)} questions in every pass's;"
                f" pairwise overlaps {[len(a & b) for a, b in itertools.pairwise(slow_sets)]}"
            )
        best = [min(ps[i]["wall"] for ps in passes) for i in range(len(questions))]
        print(
            f"each question's fastest pass: p50 {statistics.median(best):.2f} ms,"
            f" p95 {pct([b / 1000 for b in best])['p95_ms']:.2f} ms"
        )
        worst_q = sorted(range(len(questions)), key=lambda i: -best[i])
        print(f"\n{'fastest':>8} {'kind':<9} {'cand':>6} {'srvCPU':>7} {'cliCPU':>7} {'stmts':>5}  question")
        for i in worst_q[:20]:
            r = min((ps[i] for ps in passes), key=lambda x: x["wall"])
            print(
                f"{best[i]:8.2f} {r['kind']:<9} {r['steps'].get('candidates', 0.0):6.2f}"
                f" {r['server CPU']:7.2f} {r['client CPU']:7.2f} {r['statements']:5d}  {questions[i][:70]}"
            )
        if args.json:
            args.json.write_text(json.dumps({"questions": questions, "passes": passes}))

        if args.explain:
            explainer = admin_conn()
            per: dict[str, list[str]] = defaultdict(list)
            chosen = [i for i in worst_q if args.kind in (None, passes[0][i]["kind"])]
            for i in chosen[: args.explain]:
                captured = []
                search_mod.query(QueryRequest(namespace=args.namespace, query=questions[i], top_k=8))
                sent, captured = captured, None
                print(f"\n--- {questions[i][:100]}")
                with explainer.transaction():
                    for stmt, params in sent:
                        text = stmt if isinstance(stmt, str) else stmt.as_string(explainer)
                        head = text.lstrip().upper()
                        if head.startswith(("SET", "SELECT SET_CONFIG")):
                            explainer.execute(text, params)
                            continue
                        if head.startswith(("INSERT", "UPDATE", "DELETE", "WITH INS", "COMMIT", "BEGIN")):
                            continue
                        for _ in range(2):
                            plan = explainer.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params).fetchall()
                        lines = [str(next(iter(row.values()))) for row in plan]
                        ex = next(
                            (m.group(1) for ln in lines if (m := re.search(r"Execution Time: ([\d.]+)", ln))),
                            "?",
                        )
                        pl = next(
                            (m.group(1) for ln in lines if (m := re.search(r"Planning Time: ([\d.]+)", ln))),
                            "?",
                        )
                        bufs = next((ln.strip() for ln in lines if "Buffers:" in ln), "")
                        print(f"  exec {ex:>8} plan {pl:>7}  {bufs[:60]:<60} {_key(text)[:70]}")
                        per[_key(text)].append("\n".join(lines))
            if args.json:
                args.json.with_suffix(".plans.txt").write_text(
                    "\n\n".join(f"== {k}\n" + "\n--\n".join(v) for k, v in per.items())
                )


if __name__ == "__main__":
    main()
