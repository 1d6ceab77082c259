"""Batch ingest over HTTP into a large namespace, two checkouts side by side on one store.

    python bench/bench_batch_ab.py --before <checkout> [--rows 100000] [--others 100] [--rounds 10]

One store: a namespace of ROWS memories bulk-loaded with its HNSW index (``bench_common.bulk_load``)
beside OTHERS namespaces of 1,000. Two local servers on that store, one running the code of the
checkout given with ``--before`` (its ``layers``, ``functions`` and ``infra``), one this checkout's;
then ROUNDS batches of 500 (50 sessions, the namespace's existing ones) over HTTP to each,
alternating batch by batch into the same namespace (which side goes first alternates each round),
each batch's condensation jobs sent before the next (``trigger.flush``). Prints memories/s and
p50/p95 per batch for each side, the p50 to the response, how many of each side's batches
enqueued condensation jobs, and the load. The before side only has to have ``infra.local.stack.LocalStack`` and ``memos.governance.trigger``; this
checkout's migrations are applied first (an older checkout ignores migrations it does not know).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 500
HERE = Path(__file__).resolve()


def worker(root: str, clients: int, per_client: int) -> None:
    """One side: a local stack on MEMOS_DATABASE_URL with ``root``'s code; a round per stdin line.

    One client: a batch a round. More: each client posts ``per_client`` batches one after another
    into its own 50 sessions, all clients at once, and the round's time runs from the first request
    to the last response; the stack runs that many instance processes if its code has them."""
    import dataclasses

    import bench_common

    sys.path[:0] = [root, str(Path(root) / "layers")]  # ahead of this checkout's (bench_common's)
    from bench_common import Http, TextSource

    from infra.local.stack import LocalStack

    has_instances = any(f.name == "instances" for f in dataclasses.fields(LocalStack))
    instances = clients if has_instances else 1
    with bench_common.local_stack(instances=instances) as stack:  # the store is MEMOS_DATABASE_URL's
        from memos.governance import trigger

        https = [Http(stack.url, stack.api_key or "") for _ in range(clients)]
        import memos

        print(json.dumps({"code": str(Path(memos.__file__).parents[2]), "instances": instances}), flush=True)
        for line in sys.stdin:
            ns, seed = line.split()
            if clients == 1:
                items = TextSource(seed=int(seed)).items(BATCH, 50)
                t = time.perf_counter()
                status, body = https[0].post("/v1/ingest", {"namespace": ns, "items": items})
                answered = time.perf_counter() - t
                trigger.flush()
                secs = time.perf_counter() - t
                created = sum(1 for m in body["memories"] if m["status"] == "created") if status == 200 else 0
                enqueued = status == 200 and bool(body.get("condensation_enqueued"))
                print(
                    json.dumps(
                        {
                            "status": status,
                            "s": secs,
                            "answered_s": answered,
                            "created": created,
                            "enqueued": enqueued,
                        }
                    ),
                    flush=True,
                )
                continue
            print(json.dumps(_concurrent_round(https, ns, int(seed), per_client)), flush=True)
            trigger.flush()


def _concurrent_round(https: list[Any], ns: str, seed: int, per_client: int) -> dict[str, Any]:
    """Every client posts its batches (its own sessions ``c<k>-s<j>``) at once; the round's time."""
    import threading

    from bench_common import TextSource

    bodies = []
    for k in range(len(https)):
        mine = []
        for b in range(per_client):
            items = TextSource(seed=seed * 100 + k * 10 + b).items(BATCH, 50)
            for it in items:
                it["session_id"] = f"c{k}-{it['session_id']}"
            mine.append({"namespace": ns, "items": items})
        bodies.append(mine)
    results: list[list[tuple[int, float, int, bool]]] = [[] for _ in https]
    go = threading.Barrier(len(https) + 1)

    def client(k: int) -> None:
        go.wait()
        for body in bodies[k]:
            t = time.perf_counter()
            status, out = https[k].post("/v1/ingest", body)
            created = sum(1 for m in out["memories"] if m["status"] == "created") if status == 200 else 0
            enqueued = status == 200 and bool(out.get("condensation_enqueued"))
            results[k].append((status, time.perf_counter() - t, created, enqueued))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(https))]
    for th in threads:
        th.start()
    go.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    flat = [r for rs in results for r in rs]
    return {
        "status": max(r[0] for r in flat),
        "s": wall,
        "batches": len(flat),
        "answered_s": statistics.median(r[1] for r in flat),
        "batch_s": [r[1] for r in flat],
        "created": sum(r[2] for r in flat),
        "enqueued": sum(r[3] for r in flat),
    }


class _LockWaits:
    """Samples, every 10 ms until the block ends, how many PostgreSQL sessions wait for a lock."""

    def __enter__(self) -> _LockWaits:
        import threading

        from bench_common import admin_conn

        self.samples: list[int] = []
        self.statements: dict[str, int] = {}  # the waiting statements' openings, by samples
        self._stop = threading.Event()
        self._conn = admin_conn()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            rows = self._conn.execute(
                "SELECT left(query, 60) AS q FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchall()
            self.samples.append(len(rows))
            for r in rows:
                self.statements[r["q"]] = self.statements.get(r["q"], 0) + 1

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()


def _head(root: str) -> str:
    done = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the other checkout (its root directory)")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--others", type=int, default=100, help="namespaces of 1,000 beside it")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument(
        "--clients",
        type=int,
        default=1,
        help="HTTP clients posting at once, each into its own sessions (a side's server gets as many"
        " instance processes if its code has them)",
    )
    ap.add_argument(
        "--per-client", type=int, default=3, help="batches each client posts in a round (--clients > 1)"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.clients, args.per_client)
        return {}
    from bench_common import (
        ROOT,
        TextSource,
        admin_conn,
        bulk_load,
        local_stack,
        machine,
        table,
        write_result,
    )

    started = machine()
    ns = "bench-ab"
    out: dict[str, Any] = {
        "rows": args.rows,
        "others": args.others,
        "batch_size": BATCH,
        "clients": args.clients,
        "per_client": args.per_client if args.clients > 1 else 1,
    }
    with local_stack():
        with admin_conn() as conn:
            loads = {ns: args.rows, **{f"bench-other-{i}": 1000 for i in range(args.others)}}
            out["load_s"] = bulk_load(conn, loads, TextSource(seed=23), log=lambda _: None)
        sides = {"before": str(Path(args.before).resolve()), "after": str(ROOT)}
        procs = {
            side: subprocess.Popen(
                [
                    sys.executable,
                    str(HERE),
                    "--before",
                    "-",
                    "--worker",
                    root,
                    "--clients",
                    str(args.clients),
                    "--per-client",
                    str(args.per_client),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": f"{root}/layers:{root}"},
            )
            for side, root in sides.items()
        }
        try:
            instances = {}
            for side, p in procs.items():
                assert p.stdout is not None
                ready = json.loads(p.stdout.readline())
                assert ready["code"] == sides[side], (side, ready)
                instances[side] = ready.get("instances", 1)
            out["instances"] = instances
            secs: dict[str, list[float]] = {s: [] for s in procs}
            answered: dict[str, list[float]] = {s: [] for s in procs}
            batches = dict.fromkeys(procs, 0)
            each: dict[str, list[float]] = {s: [] for s in procs}  # every batch's time to its response
            lock_waits: dict[str, list[int]] = {s: [] for s in procs}
            waiting: dict[str, dict[str, int]] = {s: {} for s in procs}
            enqueued = dict.fromkeys(procs, 0)
            seed = 1000
            if args.clients > 1:  # a round each first, not counted: every instance process warm
                for p in procs.values():
                    assert p.stdin is not None and p.stdout is not None
                    seed += 1
                    p.stdin.write(f"{ns} {seed}\n")
                    p.stdin.flush()
                    assert json.loads(p.stdout.readline())["status"] == 200
            for round_no in range(args.rounds):
                # Which side goes first alternates (ABBA...): with 10 turns a session a batch, every
                # second batch takes the sessions past the condensation threshold (20 turns) and
                # enqueues their 50 jobs, so in a fixed order one side would send them all.
                order = list(procs.items())
                for side, p in order if round_no % 2 == 0 else order[::-1]:
                    assert p.stdin is not None and p.stdout is not None
                    seed += 1
                    with _LockWaits() as waits:
                        p.stdin.write(f"{ns} {seed}\n")
                        p.stdin.flush()
                        r = json.loads(p.stdout.readline())
                    assert r["status"] == 200, r
                    lock_waits[side] += waits.samples
                    for q, n in waits.statements.items():
                        waiting[side][q] = waiting[side].get(q, 0) + n
                    secs[side].append(r["s"])
                    answered[side].append(r["answered_s"])
                    enqueued[side] += int(r.get("enqueued") or 0)
                    batches[side] += r.get("batches", 1)
                    each[side] += r.get("batch_s", [r["s"]])
        finally:
            for p in procs.values():
                if p.stdin is not None:
                    p.stdin.close()
            for p in procs.values():
                p.wait(timeout=60)
    # Each side by its commit, not its directory (results never name a local path).
    out["sides"] = {side: _head(root) for side, root in sides.items()}
    sys.argv = ["<before checkout>" if a == args.before else a for a in sys.argv]
    out["batch_http"] = {
        side: {
            "batches": batches[side],
            "per_s": round(BATCH * batches[side] / sum(s), 1),
            "p50_batch_ms": round(statistics.median(each[side]) * 1000, 1),
            "p95_batch_ms": round(sorted(each[side])[max(0, round(0.95 * len(each[side])) - 1)] * 1000, 1),
            "batches_ms": [round(x * 1000, 1) for x in s],
            "p50_answered_ms": round(statistics.median(answered[side]) * 1000, 1),
            "batches_enqueuing_condensations": enqueued[side],
            # Sessions of PostgreSQL waiting for a lock held by another, sampled every 10 ms while
            # the side's rounds ran: batches in flight serialized by the database.
            "lock_waiting_mean": round(statistics.fmean(lock_waits[side]), 3) if lock_waits[side] else 0.0,
            "lock_waiting_share": round(sum(1 for n in lock_waits[side] if n) / len(lock_waits[side]), 3)
            if lock_waits[side]
            else 0.0,
            "lock_waiting_statements": dict(sorted(waiting[side].items(), key=lambda kv: -kv[1])),
        }
        for side, s in secs.items()
    }
    b, a = out["batch_http"]["before"], out["batch_http"]["after"]
    how = (
        f"{args.clients} clients at once, {out['per_client']} batches each a round"
        if args.clients > 1
        else "one at a time"
    )
    print(
        f"\nbatches of {BATCH} over HTTP into a {args.rows:,}-memory namespace, {how}, alternating,"
        f" {args.rounds} rounds each; instances {out['instances']}"
    )
    table(
        (
            "side",
            "memories/s",
            "p50 ms/batch",
            "p95 ms/batch",
            "p50 ms to the response",
            "batches enqueuing",
            "time with a lock wait",
        ),
        [
            (
                s,
                r["per_s"],
                r["p50_batch_ms"],
                r["p95_batch_ms"],
                r["p50_answered_ms"],
                r["batches_enqueuing_condensations"],
                f"{r['lock_waiting_share']:.1%}",
            )
            for s, r in out["batch_http"].items()
        ],
    )
    print(f"after / before throughput: {a['per_s'] / b['per_s']:.2f}x; load {os.getloadavg()}")
    write_result(
        "batch-ab", f"{args.rows}" + (f"-{args.clients}-clients" if args.clients > 1 else ""), out, started
    )
    return out


if __name__ == "__main__":
    main()
