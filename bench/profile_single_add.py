"""Where a single add's time goes, on the peer benchmark's shape (in process).

    python bench/profile_single_add.py [--memories N] [--singles N] [--fresh] [--explain] [--statements]

Adds N memories (default 1,000) in calls of 20 into one session, as ``bench_peer.py`` does,
analyses ``memories`` (what autovacuum does within a minute of a load; ``--fresh``: not), then
times single adds into a second session and prints one line: wall p50/p95, and the medians of the
time waiting for PostgreSQL (psycopg's waits), the L1 push (sent and its replies read, when it is
sent before the COMMIT's wait) and the rest (Python), with the round
trips (pipeline syncs and flush requests) and statements per add, and the median CPU time of an add
(this thread's) with the part spent dumping the statements' parameters. ``--statements`` then
prints each statement's count per add and its client CPU inside ``execute()`` (building, dumping,
queueing); ``--explain`` ``EXPLAIN (ANALYZE, BUFFERS)`` of each statement of one more add (run
again in a transaction that is rolled back). Uses only ``memos.memory.ingest.ingest``, so an older checkout runs it unchanged
(``PYTHONPATH=<checkout>/layers:<checkout>``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from typing import Any

from bench_common import TextSource, admin_conn, local_stack


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=1_000)
    ap.add_argument("--singles", type=int, default=300)
    ap.add_argument("--fresh", action="store_true", help="no ANALYZE after the load")
    ap.add_argument("--explain", action="store_true")
    ap.add_argument(
        "--statements", action="store_true", help="each statement's count per add and client CPU in execute()"
    )
    args = ap.parse_args(argv)
    texts = TextSource(seed=41)
    with local_stack():
        import psycopg
        import psycopg._pipeline_base as pipeline_base

        from memos.memory.ingest import ingest
        from memos.models import IngestItem
        from memos.working_memory import WorkingMemory

        ns = "peer-user"
        load = [
            IngestItem(session_id="s1", role="user" if i % 2 == 0 else "assistant", text=texts.text())
            for i in range(args.memories)
        ]
        for lo in range(0, len(load), 20):
            ingest(ns, load[lo : lo + 20], actor="bench")
        if args.memories >= 2_000:  # what the decay job does past MEMOS_ANN_MIN_MEMORIES
            from memos.retrieval import ann

            ann.maintain()
        if not args.fresh:
            with admin_conn() as conn:
                conn.execute("ANALYZE memories")
        for _ in range(20):  # prepared statements, pools
            ingest(ns, [IngestItem(session_id="s2", role="user", text=texts.text())], actor="bench")

        acc: dict[str, float] = {}

        def counted(owner: Any, name: str, key: str, timed: bool) -> None:
            real = getattr(owner, name)

            def wrapper(*a: Any, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return real(*a, **k)
                finally:
                    acc[key] = acc.get(key, 0.0) + (time.perf_counter() - t if timed else 1)

            setattr(owner, name, wrapper)

        counted(psycopg.Connection, "wait", "wait", True)
        import psycopg._queries as queries  # the parameters' dumping, statement by statement

        dump = queries.PostgresQuery.dump

        def dumped(self: Any, *a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return dump(self, *a, **k)
            finally:
                acc["dump_cpu"] = acc.get("dump_cpu", 0.0) + time.thread_time() - t

        queries.PostgresQuery.dump = dumped  # type: ignore[method-assign]
        counted(WorkingMemory, "push_many", "l1", True)
        if hasattr(WorkingMemory, "send_push"):  # sent before the COMMIT's wait, replies read after it
            send_push = WorkingMemory.send_push

            def sent(*a: Any, **k: Any) -> Any:
                t = time.perf_counter()
                replies = send_push(*a, **k)
                acc["l1"] = acc.get("l1", 0.0) + time.perf_counter() - t

                def read() -> Any:
                    t = time.perf_counter()
                    try:
                        return replies()
                    finally:
                        acc["l1"] = acc.get("l1", 0.0) + time.perf_counter() - t

                return read

            WorkingMemory.send_push = sent  # type: ignore[method-assign]
        counted(pipeline_base.BasePipeline, "_enqueue_sync", "syncs", False)
        counted(psycopg.Cursor, "execute", "statements", False)
        per_statement: dict[str, list[float]] = {}  # statement's head -> [calls, CPU s in execute()]
        if args.statements:
            execute = psycopg.Cursor.execute

            def traced(self: Any, query: Any, params: Any = None, **k: Any) -> Any:
                t = time.thread_time()
                try:
                    return execute(self, query, params, **k)
                finally:
                    row = per_statement.setdefault(" ".join(str(query).split())[:90], [0, 0.0])
                    row[0] += 1
                    row[1] += time.thread_time() - t

            psycopg.Cursor.execute = traced  # type: ignore[method-assign,assignment]
        real_fetch = pipeline_base.BasePipeline._fetch_gen

        def fetch(self: Any, *, flush: bool) -> Any:
            if flush:
                acc["flushes"] = acc.get("flushes", 0) + 1
            return (yield from real_fetch(self, flush=flush))

        pipeline_base.BasePipeline._fetch_gen = fetch  # type: ignore[method-assign]
        rows: dict[str, list[float]] = {}
        for _ in range(args.singles):
            item = [IngestItem(session_id="s2", role="user", text=texts.text())]
            acc.clear()
            t, cpu = time.perf_counter(), time.thread_time()
            ingest(ns, item, actor="bench")
            wall, cpu = time.perf_counter() - t, time.thread_time() - cpu
            for key, value in [("wall", wall), ("cpu", cpu), *acc.items()]:
                rows.setdefault(key, []).append(value)
            rows.setdefault("rest", []).append(wall - acc.get("wait", 0.0) - acc.get("l1", 0.0))
        wall_sorted = sorted(rows["wall"])

        def ms(key: str) -> float:
            return statistics.median(rows.get(key, [0.0])) * 1000

        def per_add(key: str) -> float:
            return sum(rows.get(key, [0.0])) / args.singles

        print(
            f"{args.memories} memories{' (no ANALYZE)' if args.fresh else ''}, {args.singles} single adds:"
            f" p50 {wall_sorted[len(wall_sorted) // 2] * 1000:.2f} ms,"
            f" p95 {wall_sorted[int(0.95 * len(wall_sorted))] * 1000:.2f} ms; medians: waiting for"
            f" PostgreSQL {ms('wait'):.2f}, L1 push {ms('l1'):.2f}, the rest {ms('rest'):.2f} ms;"
            f" per add {per_add('syncs'):.1f} syncs + {per_add('flushes'):.1f} flush requests,"
            f" {per_add('statements'):.1f} statements; CPU {ms('cpu'):.2f} ms, of it dumping the"
            f" statements' parameters {ms('dump_cpu'):.2f} (load {os.getloadavg()[0]:.2f})"
        )
        for head, (calls, cpu_s) in sorted(per_statement.items(), key=lambda kv: -kv[1][1]):
            print(f"  {calls / args.singles:5.2f}/add {cpu_s / calls * 1000:6.3f} ms CPU each  {head}")
        if args.explain:
            _explain(ingest, IngestItem(session_id="s2", role="user", text=texts.text()), ns)


def _explain(ingest: Any, item: Any, ns: str) -> None:
    """Each statement of one add, captured with the pipeline off and the commit turned into a
    rollback, then run again under EXPLAIN ANALYZE in a transaction that is rolled back."""
    import psycopg

    captured: list[tuple[Any, Any]] = []
    execute, commit, pipeline = psycopg.Cursor.execute, psycopg.Connection.commit, psycopg.Connection.pipeline

    def capture(self: Any, query: Any, params: Any = None, **k: Any) -> Any:
        if str(query) == "COMMIT":  # the pipelined transaction's own: nothing of this add stays
            query = "ROLLBACK"
        captured.append((query, params))
        return execute(self, query, params, **k)

    psycopg.Cursor.execute = capture  # type: ignore[method-assign,assignment]
    psycopg.Connection.pipeline = lambda self: contextlib.nullcontext()  # type: ignore[method-assign,assignment,return-value]
    psycopg.Connection.commit = lambda self: self.rollback()  # type: ignore[method-assign]
    try:
        ingest(ns, [item], actor="bench")
    finally:
        psycopg.Cursor.execute, psycopg.Connection.commit = execute, commit  # type: ignore[method-assign]
        psycopg.Connection.pipeline = pipeline  # type: ignore[method-assign]
    with admin_conn() as conn, conn.transaction(force_rollback=True):
        for query, params in captured:
            text = " ".join(str(query).split())
            if text in ("BEGIN", "COMMIT", "ROLLBACK") or text.startswith("SELECT pg_advisory"):
                continue
            plan = execute(
                conn.cursor(), "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(query), params
            ).fetchall()
            print(f"== {text[:120]}")
            for r in plan:
                print("   ", r["QUERY PLAN"])


if __name__ == "__main__":
    main()
