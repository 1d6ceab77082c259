"""This checkout's query path against another checkout's, on the same database, query by query.

    python bench/bench_query_ab.py --base PATH [--memories 1000,5000] [--queries 300]
    python bench/bench_query_ab.py --base PATH --data-dir DIR [--queries 300] [--replace OLD=NEW]

PATH is a checkout of the code to compare with (e.g. ``git worktree add ../memos-base main``); it
must be able to read this checkout's schema (its migrations a prefix of these). A fresh local stack
gets one namespace per size, ingested through this checkout (``memos.memory.ingest``, calls of 20,
the peer benchmark's texts), and the namespaces past ``MEMOS_ANN_MIN_MEMORIES`` their HNSW index.
Then each query runs in two worker processes, one importing this checkout's ``memos`` and one
PATH's, one after the other, the first side alternating, so the machine's load falls on both alike
(the process that loaded the data answers more slowly: in it, 3-12 % more p50 against itself). Reports
p50/p95 of each side, their ratio (this / base), how many queries returned the same memories
with the same scores, how many the same whole answer (every result field with its components and
metadata, the context pack's text, items and window, the token usage; not the ids and timings), and
the mean share of base's memories this side returned too. Also the p50 of each worker's CPU time a
query (``time.process_time``: the client's own work, which the machine's load inflates far less than
the wall time; an older checkout's worker reports it too, the worker is this file).

``--data-dir DIR``: instead, the store ``bench_query.py --data-dir DIR`` kept (1M memories with
``--full``), its large namespace and its questions (``--replace OLD=NEW`` rewrites each question,
e.g. ``"last week=last month"`` for wider time ranges).

``--timed-only``: only the questions naming a time, repeated to ``--queries`` (either mode);
``--parts-only``: only the questions with parts (``memos.retrieval.multihop.split_question``).

``--session SID``: every query names the session ``SID`` (``s1`` is the ingested conversation's:
its L1 window from Redis joins the answer, and the comparison); ``--scope session`` asks within it
(the exact path: a session's memories, no graph walk).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARK = "@@ab "


def worker() -> None:
    """Inside the worker: answer each (namespace, query) line with the time and the results."""
    from memos.models import QueryRequest
    from memos.retrieval.search import query

    print(MARK + "ready", flush=True)
    for line in sys.stdin:
        ns, q, sid, scope = json.loads(line)
        t, c = time.perf_counter(), time.process_time()
        r = query(QueryRequest(namespace=ns, query=q, top_k=8, session_id=sid, scope=scope))
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        whole = r.model_dump(
            mode="json", exclude={"query_id": True, "timings_ms": True, "context_pack": {"id"}}
        )
        print(
            MARK + json.dumps([dt, [[str(x.memory_id), x.score] for x in r.results], whole, cpu]), flush=True
        )


def _differing(a: Any, b: Any, path: str = "") -> list[str]:
    """The paths (``token_usage.candidates``, ``results[2].score``) at which two answers differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(a.keys() | b.keys()) for p in _differing(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _differing(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [path.lstrip(".")]


def _hear(proc: Any) -> str:
    for line in proc.stdout:
        if line.startswith(MARK):
            return str(line[len(MARK) :])
    raise RuntimeError("the base worker stopped")


def _spawn(checkout: Path) -> Any:
    """A worker answering queries with ``checkout``'s code."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(checkout / "layers"), str(checkout)]))
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=checkout,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="a checkout of the code to compare with")
    ap.add_argument("--memories", default="1000,5000", help="namespace sizes, comma-separated")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--data-dir", type=Path, help="the store bench_query.py --data-dir kept")
    ap.add_argument("--store", type=Path, help="a data dir to keep the ingested namespaces in and reuse")
    ap.add_argument("--replace", default="", help="OLD=NEW: rewrite each question (with --data-dir)")
    ap.add_argument(
        "--timed-only",
        action="store_true",
        help="only the questions naming a time (repeated)",
    )
    ap.add_argument(
        "--parts-only",
        action="store_true",
        help="only the questions with parts (multihop.split_question; repeated)",
    )
    ap.add_argument("--session", default=None, help="the session every query names (s1: the ingested one)")
    ap.add_argument(
        "--scope",
        default="namespace",
        choices=("namespace", "session"),
        help="each query's scope (session: --session's)",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker()
        return {}
    if not args.base:
        ap.error("--base is required")
    base = Path(args.base).resolve()

    from bench_common import (
        TextSource,
        ingest_conversation_once,
        local_stack,
        machine,
        pct,
        table,
        write_result,
    )

    started = machine()
    sizes = [int(x) for x in args.memories.split(",")]
    out: dict[str, Any] = {
        "base": str(base.name),
        "queries": args.queries,
        "session": args.session,
        "scope": args.scope,
        "by_size": {},
    }
    kept = json.loads((args.data_dir / "bench_query.json").read_text()) if args.data_dir else None
    if kept is not None:
        sizes = [kept["layout"]["bench-q-main"]]
        out["data_dir_store_rows"] = kept["store_rows"]
    with local_stack(args.data_dir or args.store):
        from memos.retrieval import ann

        if kept is None:
            for n in sizes:
                ingest_conversation_once(f"ab-{n}", n)
            ann.maintain()
        # Both sides in worker processes alike (the process that ingested holds that load's heap:
        # answering in it ran 3-12 % slower than a worker importing the same checkout).
        procs = {side: _spawn(path) for side, path in (("this", HERE.parent), ("base", base))}
        try:
            for proc in procs.values():
                assert _hear(proc).startswith("ready")
            asked = TextSource(seed=99)  # one source: a new one per query repeated its first question
            queries = [asked.query() for _ in range(args.queries + 20)]
            if kept is not None:
                queries = (kept["queries"][:20] + kept["queries"])[: args.queries + 20]
                if args.replace:
                    old, new = args.replace.split("=", 1)
                    queries = [q.replace(old, new) for q in queries]
                out["replace"] = args.replace
            if args.timed_only:
                from memos.retrieval.timeexpr import parse_time_range

                timed = [q for q in dict.fromkeys(queries) if parse_time_range(q)]
                queries = (timed * (1 + (args.queries + 20) // max(1, len(timed))))[: args.queries + 20]
            if args.parts_only:
                from memos.retrieval.multihop import split_question

                split = [q for q in dict.fromkeys(queries) if len(split_question(q)) >= 2]
                queries = (split * (1 + (args.queries + 20) // max(1, len(split))))[: args.queries + 20]
            out["timed_only"], out["parts_only"] = args.timed_only, args.parts_only
            for n in sizes:
                ns = f"ab-{n}" if kept is None else "bench-q-main"
                this: list[float] = []
                other: list[float] = []
                cpu: dict[str, list[float]] = {"this": [], "base": []}  # the worker's CPU time a query
                same = whole = 0
                differing: list[dict[str, Any]] = []  # which fields of a whole answer differ, per query
                shared: list[float] = []  # the share of base's memories this side also returned
                for i, q in enumerate(queries):  # the first 20 warm both sides
                    got: dict[str, Any] = {}
                    for side in ("this", "base") if i % 2 == 0 else ("base", "this"):
                        proc = procs[side]
                        assert proc.stdin is not None
                        proc.stdin.write(json.dumps([ns, q, args.session, args.scope]) + "\n")
                        proc.stdin.flush()
                        dt, got[side], got[side + " whole"], *spent = json.loads(_hear(proc))
                        if i >= 20:
                            (this if side == "this" else other).append(dt)
                            cpu[side] += spent
                    same += i >= 20 and got["this"] == got["base"]
                    whole += i >= 20 and got["this whole"] == got["base whole"]
                    if i >= 20 and got["this whole"] != got["base whole"]:
                        differing.append(
                            {"query": q, "fields": _differing(got["this whole"], got["base whole"])}
                        )
                    if i >= 20:
                        base_ids = {m for m, _ in got["base"]}
                        shared.append(len(base_ids & {m for m, _ in got["this"]}) / max(1, len(base_ids)))
                a, b = pct(this), pct(other)
                out["by_size"][n] = {
                    "this": a,
                    "base": b,
                    "cpu_this": pct(cpu["this"]) if cpu["this"] else None,
                    "cpu_base": pct(cpu["base"]) if cpu["base"] else None,
                    "same_results": same,
                    "same_answers": whole,
                    "shared_memories": round(sum(shared) / max(1, len(shared)), 4),
                    "differing_answers": differing,
                }
        finally:
            for proc in procs.values():
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=60)
    rows = []
    for n, r in out["by_size"].items():
        for k in ("p50_ms", "p95_ms"):
            rows.append((n, k[:3], r["base"][k], r["this"][k], r["this"][k] / r["base"][k]))
        if r["cpu_this"] and r["cpu_base"]:
            c_this, c_base = r["cpu_this"]["p50_ms"], r["cpu_base"]["p50_ms"]
            rows.append((n, "cpu p50", c_base, c_this, c_this / c_base))
        rows.append((n, "same results", f"{r['same_results']}/{args.queries}", "", ""))
        rows.append((n, "same answers", f"{r['same_answers']}/{args.queries}", "", ""))
        rows.append((n, "base's memories also returned", f"{r['shared_memories']:.4f}", "", ""))
    table(("memories", "measure", "base", "this", "this/base"), rows)
    mode = (
        "-".join(map(str, sizes))
        + ("-kept" if kept is not None else "")
        + ("-session" if args.session else "")
        + ("-session-scope" if args.scope == "session" else "")
    )
    write_result("query_ab", mode, out, started)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
