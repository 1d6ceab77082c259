"""Measure before building: L3 evidence as appended rows instead of rewritten arrays.

    python bench/bench_entity_evidence.py [--batches 100] [--reps 6]

Ingests BATCHES batches of 500 (50 sessions) into one namespace, so its frequent names reach
``MAX_EVIDENCE`` ids, then captures the entity upserts of 6 more batches. Each is run again with
new memory ids in a transaction that is rolled back, two ways alternating: the statement ingest runs
(``_UPSERT_ENTITIES_NEW_EVIDENCE``: each mentioned entity's evidence array concatenated, capped and
written again) and the same upsert leaving ``evidence`` alone plus an INSERT of the (entity, memory)
pairs into a table keyed by them (what an evidence table would do; the table is filled with the
stored evidence first and dropped at the end). Prints the client time of each (p50, min) and the
``EXPLAIN ANALYZE`` execution time of each statement, twice. Nothing of the service changes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any

from bench_common import TextSource, admin_conn, local_stack

PROBE = "entity_evidence_probe"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args(argv)
    texts = TextSource(seed=51)
    with local_stack():
        import psycopg
        from psycopg.types.json import Jsonb

        from memos.memory.ingest import ingest
        from memos.models import IngestItem
        from memos.store import entities as store

        for _ in range(args.batches):
            ingest("ns", [IngestItem.model_validate(i) for i in texts.items(500, 50)])
        captured: list[list[Any]] = []
        upsert = store.upsert

        def capture(conn: Any, namespace: str, entities: Any, *, new_evidence: bool = False) -> None:
            captured.append(list(entities))
            upsert(conn, namespace, entities, new_evidence=new_evidence)

        store.upsert = capture  # type: ignore[assignment]
        for _ in range(6):
            ingest("ns", [IngestItem.model_validate(i) for i in texts.items(500, 50)])
        store.upsert = upsert  # type: ignore[assignment]
        with admin_conn() as conn:
            stats = conn.execute(
                "SELECT count(*) AS entities, round(avg(cardinality(evidence)), 1) AS mean_ids,"
                " count(*) FILTER (WHERE cardinality(evidence) >= %s) AS capped FROM entities WHERE namespace = 'ns'",
                (store.MAX_EVIDENCE,),
            ).fetchone()
        print(f"after {args.batches + 6} batches: {stats}")

        rewrite = store._UPSERT_ENTITIES_NEW_EVIDENCE
        merged = store._MERGE_EVIDENCE.format(cap=store.MAX_EVIDENCE, t="e").replace(
            "ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL(e.evidence))", "EXCLUDED.evidence"
        )
        leave = rewrite.replace(merged, "e.evidence").replace(
            "   ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(u.ev) WITH ORDINALITY AS j(x, k) ORDER BY k),",
            "   '{}'::uuid[],",
        )
        assert leave != rewrite and "'{}'::uuid[]" in leave, (
            "the upsert statement changed: update this script"
        )
        append = (
            f"INSERT INTO {PROBE} (entity_id, memory_id) SELECT e.id, x::uuid"
            " FROM unnest(%(norm)b::text[], %(ev)b::jsonb[]) AS u(norm, ev)"
            " JOIN entities e ON e.namespace = %(ns)s AND e.normalized = u.norm, jsonb_array_elements_text(u.ev) x"
        )

        def params(entities: list[Any]) -> dict[str, Any]:
            fresh = [uuid.uuid4() for _, _, _, _, ev in entities for _ in ev]  # new memories' ids
            ids = iter(fresh)
            return {
                "ns": "ns",
                "id": [uuid.uuid4() for _ in entities],
                "name": [e[1] for e in entities],
                "norm": [e[0] for e in entities],
                "type": [e[2] for e in entities],
                "aliases": [Jsonb(e[3]) for e in entities],
                "ev": [Jsonb([str(next(ids)) for _ in e[4]]) for e in entities],
                "n": [len(e[4]) for e in entities],
            }

        conn = psycopg.connect(os.environ["MEMOS_DATABASE_URL"], autocommit=True)
        conn.execute(
            f"CREATE TABLE {PROBE} (entity_id uuid NOT NULL, memory_id uuid NOT NULL, PRIMARY KEY (entity_id, memory_id))"
        )
        conn.execute(
            f"INSERT INTO {PROBE} SELECT e.id, m FROM entities e, unnest(e.evidence) m ON CONFLICT DO NOTHING"
        )
        conn.execute(f"VACUUM ANALYZE {PROBE}")
        conn.execute("VACUUM ANALYZE entities")
        ways = {
            "arrays rewritten (ingest now)": [rewrite],
            "arrays left + evidence rows appended": [leave, append],
        }
        seconds: dict[str, list[float]] = {k: [] for k in ways}
        try:
            for rep in range(args.reps):
                for entities in captured:
                    p = params(entities)
                    for label in sorted(ways, reverse=bool(rep % 2)):
                        conn.execute("BEGIN")
                        t = time.perf_counter()
                        for statement in ways[label]:
                            conn.execute(statement, p)
                        seconds[label].append(time.perf_counter() - t)
                        conn.execute("ROLLBACK")
            print(
                f"{len(captured[0])} entities and {sum(len(e[4]) for e in captured[0])} evidence ids a batch"
                f" (load {os.getloadavg()[0]:.2f})"
            )
            for label, secs in seconds.items():
                print(f"{label}: p50 {statistics.median(secs) * 1000:.1f} ms, min {min(secs) * 1000:.1f} ms")
            p = params(captured[0])
            for _ in range(2):
                for label, statement in (("rewrite", rewrite), ("leave", leave), ("append", append)):
                    conn.execute("BEGIN")
                    plan = [
                        r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, p).fetchall()
                    ]
                    conn.execute("ROLLBACK")
                    print(f"  EXPLAIN {label}: {next(line.strip() for line in plan if 'Execution' in line)}")
        finally:
            conn.execute(f"DROP TABLE {PROBE}")
            conn.close()


if __name__ == "__main__":
    main()
