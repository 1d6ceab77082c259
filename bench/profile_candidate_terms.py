"""What the candidate statement's stored terms cost, statement by statement, paired.

    python bench/profile_candidate_terms.py [--memories 1000,5000] [--queries 200] [--rounds 6]
                                           [--data-dir DIR]

Loads the namespaces as ``bench/profile_query.py`` does (or reuses ``--data-dir``), captures the
first-round candidate statements (``memos.store.candidates.fetch``) of ``--queries`` questions with
their parameters, then replays each on one connection, prepared, under the settings the query path
sets (generic plans, no sorts, ef_search 40), in three forms one after the other (order alternating
by round): as it is (each row's stored terms by a subquery on ``memory_terms``), with its terms read
by a join instead, and without its terms (``NULL``: the client would tokenise). Each timing is the
client's, execute to decoded rows (``fetchall``). Checks that the join form returns the same rows in
the same order. Reports per size the median of each form and the median paired difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import TextSource, admin_conn, ingest_conversation, local_stack, machine

SUB = "SELECT u.*, (SELECT t.terms FROM memory_terms t WHERE t.memory_id = u.id) AS terms FROM ("
SETTINGS = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
    " set_config('enable_sort', 'off', true), set_config('hnsw.ef_search', '40', true)"
)


def _forms(statement: str) -> dict[str, str]:
    head, rest = statement.split(SUB)
    assert rest.endswith(") u")
    return {
        "as is": statement,
        "join": head + "SELECT u.*, t.terms FROM (" + rest[: -len(") u")] + ") u"
        " LEFT JOIN memory_terms t ON t.memory_id = u.id",
        "no terms": head + "SELECT u.*, NULL AS terms FROM (" + rest,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", default="1000,5000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--data-dir", type=Path)
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.memories.split(",")]
    print(machine())
    fresh = args.data_dir is None or not args.data_dir.exists()
    with local_stack(args.data_dir):
        import psycopg
        from psycopg.types.string import TextLoader

        from memos.models import QueryRequest
        from memos.retrieval import ann
        from memos.retrieval.search import query

        if fresh:
            for n in sizes:
                ingest_conversation(f"ab-{n}", n)
            ann.maintain()
        asked = TextSource(seed=99)
        questions = [asked.query() for _ in range(args.queries)]
        captured: list[tuple[str, Any]] = []
        execute = psycopg.Cursor.execute

        def executed(self: Any, q: Any, params: Any = None, *a: Any, **k: Any) -> Any:
            if isinstance(q, str) and SUB in q:
                captured.append((q, params))
            return execute(self, q, params, *a, **k)

        for n in sizes:
            captured.clear()
            psycopg.Cursor.execute = executed  # type: ignore[method-assign]
            try:
                for q in questions:
                    query(QueryRequest(namespace=f"ab-{n}", query=q, top_k=8))
            finally:
                psycopg.Cursor.execute = execute  # type: ignore[method-assign]
            times: dict[str, list[float]] = {"as is": [], "join": [], "no terms": []}
            paired: dict[str, list[float]] = {"join": [], "no terms": []}
            same = 0
            with admin_conn() as conn:
                conn.prepare_threshold = 1
                for rnd in range(args.rounds):
                    for statement, params in captured:
                        forms = _forms(statement)
                        order = list(forms) if rnd % 2 == 0 else list(reversed(forms))
                        got: dict[str, float] = {}
                        rows: dict[str, Any] = {}
                        for form in order:
                            with conn.transaction():
                                conn.execute(SETTINGS)
                                cur = conn.cursor()
                                cur.adapters.register_loader("jsonb", TextLoader)
                                t = time.perf_counter()
                                found = cur.execute(forms[form], params).fetchall()
                                got[form] = (time.perf_counter() - t) * 1000
                            rows[form] = [(r["id"], r["src"], r["terms"], r["vsim"]) for r in found]
                        same += rnd == 0 and rows["as is"] == rows["join"]
                        for form in forms:
                            times[form].append(got[form])
                        for form in paired:
                            paired[form].append(got[form] - got["as is"])
            print(f"\n=== {n} memories: {len(captured)} statements x {args.rounds} rounds (ms, client)")
            for form, v in times.items():
                diff = f"  paired diff {statistics.median(paired[form]):+.3f}" if form in paired else ""
                print(f"{form:<9} median {statistics.median(v):.3f}{diff}")
            print(f"join: same rows in the same order {same}/{len(captured)}")
    print(machine())


if __name__ == "__main__":
    main()
