"""The candidates step split: server execution, client wait and client CPU (row decoding and the rest).

    python bench/profile_candidates.py [--memories 5000] [--queries 300] [--explain 40]
    python bench/profile_candidates.py --data-dir DIR [--queries 300] [--explain 40] [--columns 40]

Loads one namespace of ``--memories`` as ``bench/profile_query.py`` does (or opens the store
``bench_query.py --data-dir DIR`` kept, its large namespace and its questions), then runs each question
through ``memos.retrieval.search.query`` and, inside its candidates step (``timings_ms["candidates"]``:
the first round and the second), times:

- *wait*: psycopg waiting on the socket (``Connection.wait``): the server's execution plus transfer;
- *decode*: turning the result rows into Python rows (``Cursor.fetchall`` / ``fetchone``);
- *other client*: the rest (building the statements, sending the parameters, the second round's
  Python);

and, for the first ``--explain`` questions, each statement of the step replayed under ``EXPLAIN
(ANALYZE)`` with the step's ``SET LOCAL``s (*server*, the sum per question). Medians per kind of
question (plain, temporal: names a time, multi-hop: a second round ran), and the rows per question.
``--columns N``: the first-round candidate statements of N plain questions (among the first
``--explain``) re-read with narrower select lists, to see what decoding each column costs.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, ingest_conversation, local_stack, machine


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--explain", type=int, default=40)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--namespace", default="bench-q-main")
    ap.add_argument(
        "--columns", type=int, default=0, help="decode per column set over N plain questions' statements"
    )
    args = ap.parse_args(argv)
    print(machine())
    with local_stack(args.data_dir) if args.data_dir else local_stack():
        import psycopg

        from memos.models import QueryRequest
        from memos.retrieval import ann, multihop
        from memos.retrieval import search as search_mod
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store import candidates

        if args.data_dir:
            ns = args.namespace
            questions = json.loads((args.data_dir / "bench_query.json").read_text())["queries"]
            questions = (questions * (1 + args.queries // max(1, len(questions))))[: args.queries + 20]
        else:
            ns = f"ab-{args.memories}"
            ingest_conversation(ns, args.memories)
            ann.maintain()
            asked = TextSource(seed=99)
            questions = [asked.query() for _ in range(args.queries + 20)]

        state: dict[str, Any] = {"on": False, "captured": None}
        acc: dict[str, float] = defaultdict(float)
        wait, execute = psycopg.Connection.wait, psycopg.Cursor.execute
        fetchall, fetchone = psycopg.Cursor.fetchall, psycopg.Cursor.fetchone

        def waited(self: Any, gen: Any, *a: Any, **k: Any) -> Any:
            if not state["on"]:
                return wait(self, gen, *a, **k)
            t = time.perf_counter()
            try:
                return wait(self, gen, *a, **k)
            finally:
                acc["wait"] += time.perf_counter() - t

        def executed(self: Any, q: Any, params: Any = None, *a: Any, **k: Any) -> Any:
            if state["on"] and state["captured"] is not None:
                state["captured"].append((q, params))
            return execute(self, q, params, *a, **k)

        def timed(fn: Any) -> Any:
            def inner(self: Any, *a: Any, **k: Any) -> Any:
                if not state["on"]:
                    return fn(self, *a, **k)
                t = time.perf_counter()
                out = fn(self, *a, **k)
                acc["decode"] += time.perf_counter() - t
                acc["rows"] += len(out) if isinstance(out, list) else 1
                return out

            return inner

        psycopg.Connection.wait = waited  # type: ignore[method-assign]
        psycopg.Cursor.execute = executed  # type: ignore[method-assign]
        psycopg.Cursor.fetchall = timed(fetchall)  # type: ignore[method-assign]
        psycopg.Cursor.fetchone = timed(fetchone)  # type: ignore[method-assign]
        fetch, expand = candidates.fetch, multihop.expand
        hopped = {"n": 0}

        def traced_fetch(*a: Any, **k: Any) -> Any:
            state["on"] = True
            try:
                return fetch(*a, **k)
            finally:
                state["on"] = False

        def traced_expand(*a: Any, **k: Any) -> Any:
            state["on"] = True
            try:
                out = expand(*a, **k)
            finally:
                state["on"] = False
            hopped["n"] += bool(out)
            return out

        search_mod.candidates.fetch = traced_fetch  # type: ignore[assignment]
        search_mod.multihop.expand = traced_expand  # type: ignore[assignment]

        for q in questions[:20]:
            search_mod.query(QueryRequest(namespace=ns, query=q, top_k=8))
        explainer = admin_conn()  # one warm backend for every EXPLAIN (a new one loads its caches first)
        per_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        server: dict[str, list[float]] = defaultdict(list)
        replays: list[list[tuple[Any, Any]]] = []
        for i, q in enumerate(questions[20:]):
            acc.clear()
            before = hopped["n"]
            state["captured"] = [] if i < args.explain else None
            r = search_mod.query(QueryRequest(namespace=ns, query=q, top_k=8))
            run, state["captured"] = state["captured"], None
            if run and len(replays) < args.columns and not parse_time_range(q):
                replays.append(run)
            kind = "multi-hop" if hopped["n"] > before else "temporal" if parse_time_range(q) else "plain"
            step = r.timings_ms.get("candidates", 0.0)
            cells = {
                "step": step,
                "wait": acc["wait"] * 1000,
                "decode": acc["decode"] * 1000,
                "other client": step - (acc["wait"] + acc["decode"]) * 1000,
                "rows": acc["rows"],
            }
            for k in (kind, "all"):
                for name, v in cells.items():
                    per_kind[k][name].append(v)
            if run:
                total = 0.0
                with explainer.transaction():
                    for stmt, params in run:
                        text = stmt if isinstance(stmt, str) else stmt.as_string(explainer)
                        if text.lstrip().upper().startswith("SET"):
                            explainer.execute(text)
                            continue
                        for _ in range(2):  # the second run's (pages and plans warm, like the query's)
                            plan = explainer.execute(
                                "EXPLAIN (ANALYZE, TIMING OFF) " + text, params
                            ).fetchall()
                        for row in plan:
                            m = re.search(r"(?:Execution|Planning) Time: ([\d.]+)", next(iter(row.values())))
                            total += float(m.group(1)) if m else 0.0
                for k in (kind, "all"):
                    server[k].append(total)
        if replays:
            decode_columns(replays)
        kinds = ("plain", "temporal", "multi-hop", "all")
        print(f"\n=== {ns}: {len(questions) - 20} questions, medians in ms (rows: per question)")
        print(f"{'':<28}" + "".join(f"{k:>11}" for k in kinds))
        print(f"{'questions':<28}" + "".join(f"{len(per_kind[k]['step']):>11}" for k in kinds))
        for name in ("step", "wait", "decode", "other client", "rows"):
            print(
                f"{name:<28}"
                + "".join(
                    f"{statistics.median(per_kind[k][name]):11.3f}" if per_kind[k][name] else f"{'-':>11}"
                    for k in kinds
                )
            )
        print(
            f"{'server (EXPLAIN, plan+exec)':<28}"
            + "".join(f"{statistics.median(server[k]):11.3f}" if server[k] else f"{'-':>11}" for k in kinds)
        )


# Select lists over a first-round candidate statement's rows (``--columns``), its columns by name.
_ALL = (
    "id, session_id, role, kind, text, metadata, occurred_at, importance, tokens, base_importance,"
    " access_count, created_at, last_accessed_at, decay_half_life, decay_floor, fact_key, vsim"
)
COLUMN_SETS = {
    "every column": "*",
    "without terms": _ALL,
    "without text, metadata": _ALL.replace(" text, metadata,", "") + ", terms",
    "id, vsim, terms": "id, vsim, terms",
    "id, vsim": "id, vsim",
}


def decode_columns(replays: list[list[tuple[Any, Any]]], rounds: int = 3) -> None:
    """Each first-round candidate statement of ``replays`` (with its settings before it) re-read with
    each select list of COLUMN_SETS, alternating, ``rounds`` times (the first warms): the median time
    to decode its rows (``fetchall``), per statement; and every column in binary format."""
    import psycopg
    from psycopg.types.string import TextLoader

    from memos.store import db

    took: dict[str, list[float]] = defaultdict(list)
    fetchall = psycopg.Cursor.fetchall
    with db.connection() as conn:
        for rnd in range(rounds):
            for run in replays:
                for name, cols in [*COLUMN_SETS.items(), ("every column, binary", "*")]:
                    for stmt, params in run:
                        text = stmt if isinstance(stmt, str) else stmt.as_string(conn)
                        if "memory_terms t WHERE t.memory_id = u.id" not in text:
                            if text.lstrip().upper().startswith(("SET", "SELECT SET_CONFIG")):
                                conn.execute(text, params)
                            continue
                        cur = conn.cursor(binary=name.endswith("binary"))
                        cur.adapters.register_loader("jsonb", TextLoader)
                        cur.execute(f"SELECT {cols} FROM ({text}) x", params)
                        t = time.perf_counter()
                        fetchall(cur)
                        if rnd:
                            took[name].append((time.perf_counter() - t) * 1000)
                    conn.rollback()
    print(
        f"\ndecoding a first-round candidate statement's rows, median ms ({len(replays)} questions x {rounds - 1})"
    )
    for name, v in took.items():
        print(f"  {name:<24} {statistics.median(v):.3f}")


if __name__ == "__main__":
    main()
