"""A session's L1 window on the query path: read after the first reads (Redis, then the ids it must
hold in a round trip of its own: the query path before the eighth round) against read during them
(Redis while PostgreSQL answers them, the ids one more statement of their round trip: what
``memos.retrieval.search.query`` does).

    python bench/bench_l1_read.py [--rounds 2000] [--turns 40]

Runs on a fresh local stack (embedded PostgreSQL over its socket, ``redis-server``): one session of
``--turns`` turns ingested (its window in Redis), then the two ways alternate in one process, each in
its own transaction, so machine load falls on both; both must return the same window.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_common import local_stack, paired

NS, SID = "bench-l1-read", "s1"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--turns", type=int, default=40)
    args = ap.parse_args(argv)
    with local_stack():
        from memos.embeddings import space
        from memos.governance import policy_store
        from memos.memory import ingest
        from memos.models import IngestItem
        from memos.store import db, first_reads
        from memos.store import memories as memory_store
        from memos.working_memory import WorkingMemory

        turns = [
            IngestItem(session_id=SID, role="user", text=f"turn {i} about the trip")
            for i in range(args.turns)
        ]
        ingest.ingest(NS, turns, actor="bench")
        policy = policy_store.get_policy(NS)
        size, ttl = policy.l1_window_size, policy.l1_ttl_seconds
        l1 = WorkingMemory()
        terms = ["trip", "berlin"]
        question = "what about the trip to berlin?"

        def after() -> list[dict[str, Any]]:
            with db.connection() as conn:
                expected = space.expected()
                first = first_reads.read(
                    conn, NS, terms, (), SID, meanwhile=lambda: expected.embed([question])[0]
                )
                space.resolved(conn, first.space)
                window, _ = l1.window(
                    NS,
                    SID,
                    size,
                    ttl,
                    lambda ns, sid, n: memory_store.recent_turns(conn, ns, sid, n),
                    lambda ns, sid, n: memory_store.recent_turn_ids(conn, ns, sid, n),
                )
                return window

        def during() -> list[dict[str, Any]]:
            with db.connection() as conn:
                expected = space.expected()
                first = first_reads.read(
                    conn,
                    NS,
                    terms,
                    (),
                    SID,
                    window=size,
                    meanwhile=lambda: (expected.embed([question])[0], l1.cached(NS, SID, size)),
                )
                space.resolved(conn, first.space)
                ids = first.turn_ids or []
                window, _ = l1.settle(
                    NS,
                    SID,
                    size,
                    ttl,
                    first.meanwhile[1],
                    lambda ns, sid, n: memory_store.recent_turns(conn, ns, sid, n),
                    lambda ns, sid, n: ids,
                )
                return window

        assert after() == during() and len(after()) == size
        a: list[float] = []
        b: list[float] = []
        for i in range(args.rounds):
            for way, out in ((after, a), (during, b)) if i % 2 == 0 else ((during, b), (after, a)):
                t0 = time.perf_counter()
                way()
                out.append((time.perf_counter() - t0) * 1e3)
        paired(("first reads, then the L1 window", a), ("the L1 window during the first reads", b))


if __name__ == "__main__":
    main()
