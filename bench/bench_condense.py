"""Condensation throughput: sessions/s for one consumer with the rule-based summarizer.

    python bench/bench_condense.py [--quick | --full] [--sessions S] [--turns T]

S sessions of T turns each are ingested in process (batches of 500, with the background consumer
stopped), then ``memos.governance.condensation.condense`` runs once per session with the job the pipeline
would send (``job_id = f"{ns}/{session}/{through_turn}"``), sequentially, as one consumer does.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_common import TextSource, local_stack, machine, pct, table, write_result

NS = "bench-condense"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 sessions (default)")
    ap.add_argument("--full", action="store_true", help="1,000 sessions")
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--turns", type=int, default=20)
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    n = args.sessions or (1_000 if args.full else 200)
    started = machine()
    texts = TextSource(seed=3)
    with local_stack():
        from memos.governance.condensation import condense
        from memos.kernel.config import get_settings
        from memos.memory.ingest import ingest
        from memos.models import IngestItem

        items = [
            IngestItem.model_validate({**i, "session_id": f"c{s:05d}"})
            for s in range(n)
            for i in texts.items(args.turns, 1)
        ]
        for lo in range(0, len(items), 500):
            ingest(NS, items[lo : lo + 500], actor="bench")
        lat, statuses = [], []
        t0 = time.perf_counter()
        for s in range(n):
            sid = f"c{s:05d}"
            job = {
                "job_id": f"{NS}/{sid}/{args.turns}",
                "namespace": NS,
                "session_id": sid,
                "through_turn": args.turns,
            }
            t = time.perf_counter()
            statuses.append(condense(job))
            lat.append(time.perf_counter() - t)
        secs = time.perf_counter() - t0
        summarizer = get_settings().summarizer
    out = {
        "sessions": n,
        "turns_per_session": args.turns,
        "summarizer": summarizer,
        "seconds": round(secs, 2),
        "sessions_per_s": round(n / secs, 1),
        "done": statuses.count("done"),
        "latency": pct(lat),
    }
    print(f"\nCondensation, one consumer, {summarizer} summarizer")
    table(
        ("sessions", "turns each", "done", "seconds", "sessions/s", "p50 ms", "p95 ms"),
        [
            (
                n,
                args.turns,
                out["done"],
                out["seconds"],
                out["sessions_per_s"],
                out["latency"]["p50_ms"],
                out["latency"]["p95_ms"],
            )
        ],
    )
    write_result("condense", mode, out, started)
    return out


if __name__ == "__main__":
    main()
