"""What one add's writes cost beside its Python: a statement's fixed price, and the server's INSERT.

    python bench/profile_write_costs.py [--memories N] [--rounds N]

On a fresh local stack with N memories (default 1,000) added in calls of 20 into one session (the
peer benchmark's shape), three measurements, each alternating its two ways (ABBA) in one process:

- ``fold``: six one-row INSERTs into six scratch tables, each its own statement, against the same
  six as one statement (data-modifying CTEs), in ``memos.store.db.pipelined_transaction`` (rolled
  back): wall and thread CPU medians of a transaction. What folding an add's statements can save.
- ``forget_at``: server time of a one-row ``INSERT INTO memories`` (``EXPLAIN ANALYZE`` minus its
  source row's read; rolled back) with ``memos_forget_at`` as migration 0007 defines it, against
  0016's inlinable body (both read from their migrations) (``extract(epoch FROM ts AT TIME ZONE 'UTC')``, an immutable function, for
  ``extract(epoch FROM ts)``, a stable one: an IMMUTABLE SQL function whose body calls a stable
  one is never inlined, so the generated column runs the SQL function executor), with a check that
  both bodies give the same ``forget_at`` for every stored row.
- ``indexes``: that INSERT's server time with each index of ``memories`` dropped in turn (rolled back).

Nothing is kept: every change runs in a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, local_stack

_MIGRATIONS = Path(__file__).resolve().parent.parent / "layers" / "memos" / "store" / "migrations"


def _forget_at_body(migration: str) -> str:
    """``memos_forget_at`` as ``migration`` defines it, as a CREATE OR REPLACE to run in a transaction."""
    sql = (_MIGRATIONS / migration).read_text()
    found = re.search(r"CREATE (?:OR REPLACE )?FUNCTION memos_forget_at\(.*?\$\$.*?\$\$", sql, re.S)
    assert found, f"{migration} defines no memos_forget_at"
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


_BODY_0007 = _forget_at_body("0007_forget_at.sql")
_BODY_0016 = _forget_at_body("0016_forget_at_inlinable.sql")
_SAME = (
    "SELECT count(*) AS n, count(*) FILTER (WHERE forget_at IS DISTINCT FROM memos_forget_at(base_importance,"
    " access_count, created_at, last_accessed_at, occurred_at, expires_at, decay_half_life, decay_floor,"
    " ttl_days, ttl_from_ingest)) AS differ FROM memories"
)


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def _fold(rounds: int) -> None:
    from memos.store import db

    with admin_conn() as conn:
        for i in range(6):
            conn.execute(f"CREATE TABLE IF NOT EXISTS fold_{i} (a text, b int, c text, d int)")
    one = (
        "WITH "
        + ", ".join(f"w{i} AS (INSERT INTO fold_{i} VALUES (%s, %s, %s, %s))" for i in range(5))
        + " INSERT INTO fold_5 VALUES (%s, %s, %s, %s)"
    )

    def apart(conn: Any, k: int) -> None:
        for i in range(6):
            conn.execute(f"INSERT INTO fold_{i} VALUES (%s, %s, %s, %s)", ("x", k, "y", i))

    def folded(conn: Any, k: int) -> None:
        conn.execute(one, [v for i in range(6) for v in ("x", k, "y", i)])

    ways = {"six statements": apart, "one statement": folded}
    wall: dict[str, list[float]] = {w: [] for w in ways}
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    for r in range(rounds + 50):
        for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            t, c = time.perf_counter(), time.thread_time()
            with db.pipelined_transaction() as conn:  # no COMMIT: rolled back
                ways[name](conn, r)
            if r >= 50:  # after the statements are prepared
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.thread_time() - c)
    for name in ways:
        print(f"fold: {name}: wall {_ms(wall[name])} ms, CPU {_ms(cpu[name])} ms a transaction")


def _insert_timer(conn: Any, ns: str) -> Any:
    cols = [
        r["column_name"]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'memories'"
            " AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'content_hash', 'created_at', 'updated_at')"
            " ORDER BY ordinal_position"
        )
    ]
    ids = [r["id"] for r in conn.execute("SELECT id FROM memories WHERE namespace = %s LIMIT 200", (ns,))]
    sql = (
        f"EXPLAIN (ANALYZE, FORMAT JSON) INSERT INTO memories (id, content_hash, {', '.join(cols)})"
        f" SELECT gen_random_uuid(), md5(random()::text), {', '.join(cols)} FROM memories WHERE id = %s"
    )

    def server_ms(setup: str, n: int = 40) -> float:
        out = []
        for k in range(n):
            conn.execute("BEGIN")
            if setup:
                conn.execute(setup)
            top = next(iter(conn.execute(sql, (ids[k % len(ids)],)).fetchone().values()))[0]
            conn.execute("ROLLBACK")
            out.append(top["Execution Time"] - top["Plan"]["Plans"][0]["Actual Total Time"])
        return round(statistics.median(out), 3)

    return server_ms


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=600, help="fold: transactions each way")
    args = ap.parse_args(argv)
    print(f"load {os.getloadavg()[0]:.2f}")
    texts = TextSource(seed=41)
    with local_stack():
        from memos.memory.ingest import ingest
        from memos.models import IngestItem

        ns = "peer-user"
        load = [
            IngestItem(session_id="s1", role="user" if i % 2 == 0 else "assistant", text=texts.text())
            for i in range(args.memories)
        ]
        for lo in range(0, len(load), 20):
            ingest(ns, load[lo : lo + 20], actor="bench")
        _fold(args.rounds)
        with admin_conn() as conn:
            conn.autocommit = True
            conn.execute("ANALYZE memories")
            server_ms = _insert_timer(conn, ns)
            # Each body set in the measured transaction (the stack's migrations applied 0016's).
            bodies = {"0007's body": _BODY_0007, "inlinable body (0016)": _BODY_0016}
            runs: dict[str, list[float]] = {name: [] for name in bodies}
            for r in range(6):
                for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
                    runs[name].append(server_ms(bodies[name]))
            for name, values in runs.items():
                print(
                    f"forget_at: {name}: one-row INSERT {statistics.median(values)} ms on the server {values}"
                )
            conn.execute("BEGIN")
            conn.execute(_BODY_0007)  # the stored rows were computed by 0016's body
            same = conn.execute(_SAME).fetchone()
            conn.execute("ROLLBACK")
            print(f"forget_at: rows {same['n']}, differing between the two bodies {same['differ']}")
            print(f"indexes: all: {server_ms('')} ms")
            names = [
                r["indexname"]
                for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'memories'")
            ]
            for name in names:
                if not name.endswith("_pkey"):
                    print(f"indexes: without {name}: {server_ms(f'DROP INDEX {name}')} ms")
            print(f"indexes: all, again: {server_ms('')} ms")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
