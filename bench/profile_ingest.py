"""Where an ingest's database time goes, statement by statement (in process).

    python bench/profile_ingest.py [--singles N | --batches N] [--cprofile] [--pipelined]
                                   [--ns-rows N] [--explain MS] [--steps [--cpu]]

Ingests 3 batches of 500 (50 sessions) to warm up, then times every statement of N more batches of
500 (or N single-item ingests with ``--singles``) with psycopg's pipeline mode switched off, so each
statement is one round trip timed on its own (the client-side dumping of its parameters included),
and prints the milliseconds per ingest of each statement (first 90 characters) with how many times
it ran. The totals are larger than a pipelined ingest's (one round trip per statement here); the
shares say which statements cost. ``--cprofile`` adds the 30 functions with the most own time;
``--pipelined`` leaves the pipeline on (as ingest runs) and prints the ingest time with the time
spent waiting for PostgreSQL and the number of waits (round trips and syncs) instead of statements.
``--ns-rows N`` first bulk-loads N memories into the namespace (``bench_common.bulk_load``, with its
HNSW index) beside OTHERS namespaces of 1,000 (``--others``, 100 by default), so the batches meet a large namespace in a larger store.
``--explain MS`` prints EXPLAIN (ANALYZE, BUFFERS) of each statement taking MS ms or more per ingest
(run once, at its first timed run, in a savepoint rolled back before the statement itself runs).
``--steps`` times ingest's Python steps (``bench_ingest.instrument``) with the pipeline on; with
``--cpu`` it counts their CPU time (this thread's) instead of wall time, and prints the CPU time per
ingest of the whole call, of PostgreSQL's processes (Linux: ``/proc``) and the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import TextSource, local_stack


def _key(query: Any) -> str:
    return " ".join(str(query).split())[:90]


def _explainable(query: Any) -> bool:
    head = str(query).lstrip().split(" ", 1)[0].upper()
    return head in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def _explain(cur: Any, execute: Any, query: Any, *a: Any, **k: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement, in a savepoint rolled back (nothing it writes stays)."""
    from psycopg import sql

    conn = cur.connection
    explain = sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + (sql.SQL(query) if isinstance(query, str) else query)
    execute(cur, "SAVEPOINT profile_explain")
    try:
        execute(cur, explain, *a, **k)
        return "\n".join(next(iter(r.values())) if isinstance(r, dict) else r[0] for r in cur.fetchall())
    except Exception as exc:  # a plan that cannot be had is reported, not fatal
        return f"(no plan: {exc})"
    finally:
        execute(cur, "ROLLBACK TO SAVEPOINT profile_explain")
        del conn


def _server_cpu() -> float:
    """CPU seconds used so far by the local stack's PostgreSQL (its postmaster and every process it
    started: backends, WAL writer, autovacuum...), from /proc; 0.0 where there is none."""
    from bench_common import admin_conn

    with admin_conn() as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()["data_directory"]
    try:
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    except OSError:
        return 0.0
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--singles", type=int, default=0)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--pipelined", action="store_true")
    ap.add_argument("--ns-rows", type=int, default=0)
    ap.add_argument("--explain", type=float, default=None, metavar="MS")
    ap.add_argument("--steps", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="with --steps: CPU time, not wall time")
    ap.add_argument("--namespace", default="ns")
    ap.add_argument("--others", type=int, default=100, help="with --ns-rows: namespaces of 1,000 beside it")
    ap.add_argument(
        "--seed", type=int, default=11, help="of the texts (another one for new texts in a kept store)"
    )
    args = ap.parse_args(argv)
    texts = TextSource(seed=args.seed)
    with local_stack():
        import psycopg

        from memos.memory.ingest import ingest
        from memos.models import IngestItem

        if args.ns_rows:
            from bench_common import admin_conn, bulk_load

            with admin_conn() as conn:
                others = {f"other-{i}": 1000 for i in range(args.others)}
                print(
                    bulk_load(
                        conn,
                        {args.namespace: args.ns_rows, **others},
                        TextSource(seed=23),
                        log=lambda _: None,
                    )
                )
        plans: dict[str, str] = {}
        ingest("warm", [IngestItem.model_validate(i) for i in texts.items(20, 2)])
        for _ in range(3):
            ingest(args.namespace, [IngestItem.model_validate(i) for i in texts.items(500, 50)])
        try:  # what a function does once its code is loaded (older checkouts: nothing)
            from functions.shared.entry import settle_heap
        except ImportError:
            pass
        else:
            settle_heap()
        if args.singles:
            work = [[IngestItem.model_validate(i)] for i in texts.items(args.singles, 20)]
        else:
            work = [[IngestItem.model_validate(i) for i in texts.items(500, 50)] for _ in range(args.batches)]

        seconds: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        execute, executemany, commit = (
            psycopg.Cursor.execute,
            psycopg.Cursor.executemany,
            psycopg.Connection.commit,
        )

        def timed(name: str, fn: Any) -> Any:
            def run(self: Any, query: Any = None, *a: Any, **k: Any) -> Any:
                label = name + _key(query) if query is not None else name
                if explaining and name == "" and label not in plans and _explainable(query):
                    plans[label] = _explain(self, fn, query, *a, **k)
                t = time.perf_counter()
                try:
                    return fn(self, query, *a, **k) if query is not None else fn(self)
                finally:
                    seconds[label] += time.perf_counter() - t
                    counts[label] += 1

            return run

        if args.steps:
            from bench_ingest import Phases, instrument

            phases = Phases(time.thread_time if args.cpu else time.perf_counter)
            instrument(phases)
            t, cpu, server = time.perf_counter(), time.thread_time(), _server_cpu()
            for items in work:
                ingest(args.namespace, items, actor="bench")
            total = time.perf_counter() - t
            n = len(work)
            if args.cpu:
                print(
                    f"{n} ingests, per ingest: CPU {(time.thread_time() - cpu) / n * 1000:.1f} ms here,"
                    f" {(_server_cpu() - server) / n * 1000:.1f} ms in PostgreSQL's processes;"
                    f" wall {total / n * 1000:.1f} ms (load {os.getloadavg()[0]:.2f})"
                )
            print(
                f"{n} ingests: {total / n * 1000:.1f} ms each; steps ({'CPU ' if args.cpu else ''}ms per ingest):"
            )
            for name, secs in sorted(phases.seconds.items(), key=lambda kv: -kv[1]):
                print(f"{secs / n * 1000:9.2f}  {name}")
            return
        if args.pipelined:  # the time in psycopg's waits (send, server, receive), as ingest runs
            wait = psycopg.Connection.wait

            def waited(self: Any, gen: Any, *a: Any, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return wait(self, gen, *a, **k)
                finally:
                    secs = time.perf_counter() - t
                    label = "waits of 0.1 ms or more" if secs >= 1e-4 else "shorter waits (queueing)"
                    seconds[label] += secs
                    counts[label] += 1

            psycopg.Connection.wait = waited  # type: ignore[method-assign]
        else:
            psycopg.Cursor.execute = timed("", execute)  # type: ignore[method-assign]
            psycopg.Cursor.executemany = timed("MANY ", executemany)  # type: ignore[method-assign]
            psycopg.Connection.commit = timed("COMMIT", commit)  # type: ignore[method-assign]
            psycopg.Connection.pipeline = lambda self: contextlib.nullcontext()  # type: ignore[method-assign,assignment,return-value]
        profile = cProfile.Profile() if args.cprofile else None
        explaining = args.explain is not None
        t = time.perf_counter()
        if profile:
            profile.enable()
        for items in work:
            ingest(args.namespace, items, actor="bench")
        if profile:
            profile.disable()
        total = time.perf_counter() - t
    n = len(work)
    print(f"{n} {'single ingests' if args.singles else 'batches of 500'}: {total / n * 1000:.1f} ms each")
    print(f"{'ms/ingest':>9}  {'runs':>5}  statement")
    for label, secs in sorted(seconds.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{secs / n * 1000:9.2f}  {counts[label] / n:5.1f}  {label}")
    for label, text in plans.items():
        if args.explain is not None and seconds[label] / n * 1000 >= args.explain:
            print(f"\n{label}\n{text}")
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
