"""The query path's first reads, the embedding-space lock and the term statistics, as two
round trips (``space.active`` then ``lexical.load_stats``) against one pipelined round trip
(``memos.store.first_reads.read``, what ``memos.retrieval.search.query`` does).

    python bench/bench_first_reads.py [--rounds 2000]

Runs on a fresh local stack (embedded PostgreSQL over its socket); the two ways alternate in one
process, each in its own transaction, so machine load falls on both.
"""

from __future__ import annotations

import argparse
import time

from bench_common import local_stack, paired


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2000)
    args = ap.parse_args(argv)
    with local_stack():
        from memos.embeddings import space
        from memos.retrieval import lexical
        from memos.store import db, first_reads

        terms = ["berlin", "move", "dentist"]
        two: list[float] = []
        one: list[float] = []
        for _ in range(args.rounds):
            with db.connection() as conn:
                t0 = time.perf_counter()
                space.active(conn)
                a = lexical.load_stats(conn, "bench-first-reads", terms)
                two.append((time.perf_counter() - t0) * 1e3)
            with db.connection() as conn:
                t0 = time.perf_counter()
                first = first_reads.read(conn, "bench-first-reads", terms)
                space.resolved(conn, first.space)
                counts = first.counts
                one.append((time.perf_counter() - t0) * 1e3)
            if lexical.stats_of(*counts) != a:
                raise SystemExit("the pipelined read disagrees")
    print(f"{args.rounds} rounds, each way in its own transaction")
    paired(("two round trips", two), ("pipelined", one))


if __name__ == "__main__":
    main()
