"""Decay pass: ``memos.governance.decay.run_decay()`` over N memories (rows/s, seconds per pass).

    python bench/bench_decay.py [--quick | --full] [--rows N] [--namespaces K]

Rows are bulk-loaded (binary COPY, see bench_common.bulk_load) with event and creation times
spread over the last 90 days and the default policy's decay plan (half-life 30 days, floor 0.05),
so ``forget_at`` has passed for the oldest, least important rows: the first pass expires those
(and only reads those, through the ``forget_at`` index); a second pass right after finds nothing
due. ``--unplanned`` loads rows without a plan (as rows from before migration 0007): the first
pass then plans every row once. The HNSW index is in place, as in production.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_common import TextSource, admin_conn, bulk_load, local_stack, machine, table, write_result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50k rows in 50 namespaces (default)")
    ap.add_argument("--full", action="store_true", help="SPEC size: 1M rows in 1,000 namespaces")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--namespaces", type=int)
    ap.add_argument("--unplanned", action="store_true", help="rows from before migration 0007")
    ap.add_argument("--age-days", type=float, default=90.0, help="event times spread over this many days")
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    rows = args.rows or (1_000_000 if args.full else 50_000)
    k = args.namespaces or (1_000 if args.full else 50)
    if args.rows or args.namespaces:
        mode = f"{rows // 1000}k-{k}ns"
    if args.unplanned:
        mode += "-unplanned"
    if args.age_days != 90.0:
        mode += f"-{args.age_days:g}d"
    started = machine()
    out: dict[str, Any] = {"rows": rows, "namespaces": k}
    with local_stack():
        from memos.governance.decay import run_decay

        with admin_conn() as conn:
            out["load_s"] = bulk_load(
                conn,
                {f"bench-d-{i:04d}": rows // k for i in range(k)},
                TextSource(seed=5),
                age_days=args.age_days,
                planned=not args.unplanned,
            )
            conn.execute("ANALYZE memories")
            out["due_before"] = conn.execute(
                "SELECT count(*) AS n FROM memories WHERE status = 'active' AND forget_at <= now()"
            ).fetchone()["n"]
        passes = []
        for label in ("first pass", "second pass"):
            t = time.perf_counter()
            rep = run_decay(time_budget_s=3600)
            secs = time.perf_counter() - t
            passes.append(
                {
                    "pass": label,
                    "scanned": rep.scanned,
                    "decayed": rep.decayed,
                    "expired": rep.expired,
                    "batches": rep.batches,
                    "seconds": round(secs, 2),
                    "rows_per_s": round(rep.scanned / secs, 1) if secs else None,
                    "finished": rep.finished,
                }
            )
            with admin_conn() as conn:  # HOT updates skip index maintenance (incl. the HNSW index)
                st = conn.execute(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'memories'"
                ).fetchone()
                time.sleep(0.6)  # statistics are flushed asynchronously
                st = conn.execute(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'memories'"
                ).fetchone()
            passes[-1]["updates_so_far"] = st["n_tup_upd"]
            passes[-1]["hot_updates_so_far"] = st["n_tup_hot_upd"]
        out["passes"] = passes
    from memos.governance.decay import BATCH

    print(
        f"\nDecay over {rows:,} memories in {k} namespaces ({out['due_before']:,} due;"
        f" batches of {BATCH:,}; HNSW index in place)"
    )
    table(
        ("pass", "scanned", "decayed", "expired", "batches", "seconds", "rows/s", "row updates (HOT)"),
        [
            (
                p["pass"],
                p["scanned"],
                p["decayed"],
                p["expired"],
                p["batches"],
                p["seconds"],
                p["rows_per_s"],
                f"{p['updates_so_far']:,} ({p['hot_updates_so_far']:,})",
            )
            for p in passes
        ],
    )
    write_result("decay", mode, out, started)
    return out


if __name__ == "__main__":
    main()
