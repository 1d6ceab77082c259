"""What a namespace's HNSW index costs each ingest batch, by index build parameters, with the recall
each gives: the choice between insert speed and search quality, measured rather than guessed.

    python bench/bench_ann_insert.py [--rows 20000] [--batches 3] [--queries 60]

Loads ROWS memories into one namespace (``bench_common.bulk_load``), then for each variant builds
the namespace's partial HNSW index (as ``memos.store.ann.build`` does, ``WHERE namespace = ...``),
inserts BATCHES batches of 500 new memories with ingest's INSERT (``memos.store.memories.
insert_memories``, one statement per batch, in its own transaction) and times them (they stay:
the namespace grows by BATCHES x 500 per variant). Before the inserts it measures vector recall@10
against exact distance over the namespace as it is then, at the pooled connections' search settings (``memos.store.ann.SEARCH_SETTINGS``) with the statement's p50. Variants: pgvector's
defaults (m 16, ef_construction 64: what the schema builds), ef_construction 32, m 8 /
ef_construction 32, and the defaults over ``halfvec`` (half the bytes per vector; the query must
then order by the same expression). A run without any index gives the floor.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench_common import TextSource, admin_conn, bulk_load, local_stack, machine, table, write_result

NS = "bench-ann"
BATCH = 500
VARIANTS = [
    ("no index (floor)", None, "embedding"),
    (
        "m 16, ef_construction 64 (schema)",
        "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)",
        "embedding",
    ),
    (
        "m 16, ef_construction 32",
        "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 32)",
        "embedding",
    ),
    (
        "m 8, ef_construction 32",
        "USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32)",
        "embedding",
    ),
    (
        "halfvec, m 16, ef_construction 64",
        "USING hnsw ((embedding::halfvec({dim})) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)",
        "embedding::halfvec({dim})",
    ),
]


def _new_rows(texts: TextSource, n: int) -> list[Any]:
    from memos.embeddings import get_embedder
    from memos.kernel.text import content_hash
    from memos.store.memories import NewMemory

    items = texts.items(n, 50)
    vecs = get_embedder().embed([i["text"] for i in items])
    now = datetime.now(UTC)
    return [
        NewMemory(
            id=uuid.uuid4(),
            namespace=NS,
            session_id=i["session_id"] + "-new",
            role=i["role"],
            kind="episodic",
            text=i["text"],
            metadata={},
            occurred_at=now,
            importance=0.5,
            content_hash=content_hash(i["text"]) + uuid.uuid4().hex[:8],
            tokens=10,
            embedding=v,
            turn_no=k + 1,
            decay_half_life=30.0,
            decay_floor=0.05,
        )
        for k, (i, v) in enumerate(zip(items, vecs, strict=True))
    ]


def _exact(conn: Any, queries: list[Any]) -> list[list[Any]]:
    """The exact top 10 of each query over the namespace as it is now (a scan, no index)."""
    return [
        [
            r["id"]
            for r in conn.execute(
                "WITH ns AS MATERIALIZED (SELECT id, embedding FROM memories WHERE namespace = %s)"
                " SELECT id FROM ns ORDER BY embedding <=> %s LIMIT 10",
                (NS, q),
            ).fetchall()
        ]
        for q in queries
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args(argv)
    started = machine()
    texts = TextSource(seed=29)
    out: dict[str, Any] = {"rows": args.rows, "batch": BATCH, "batches": args.batches, "variants": {}}
    rows = []
    with local_stack():
        from memos.embeddings import get_embedder
        from memos.store import db
        from memos.store.ann import SEARCH_SETTINGS
        from memos.store.memories import insert_memories

        embedder = get_embedder()
        dim = embedder.dim
        with admin_conn() as conn:
            out["load_s"] = bulk_load(conn, {NS: args.rows}, texts, age_days=120)
            for r in conn.execute(
                "SELECT index_name FROM ann_indexes WHERE namespace = %s", (NS,)
            ).fetchall():
                conn.execute(f'DROP INDEX "{r["index_name"]}"')
            conn.execute("DELETE FROM ann_indexes WHERE namespace = %s", (NS,))
            conn.execute("ANALYZE memories")
            queries = [embedder.embed([texts.query()])[0] for _ in range(args.queries)]
            for label, using, expr in VARIANTS:
                t = time.perf_counter()
                if using:
                    conn.execute(
                        f"CREATE INDEX bench_ann_variant ON memories {using.format(dim=dim)} WHERE namespace = '{NS}'"
                    )
                build_s = time.perf_counter() - t
                conn.execute("ANALYZE memories")
                for s in SEARCH_SETTINGS:
                    conn.execute(s)
                order = expr.format(dim=dim)
                cast = f"::halfvec({dim})" if "halfvec" in order else ""
                found, lat = [], []
                for q, want in zip(queries, _exact(conn, queries), strict=True):
                    t = time.perf_counter()
                    got = conn.execute(
                        f"SELECT id FROM memories WHERE namespace = '{NS}' ORDER BY {order} <=> %s{cast} LIMIT 10",
                        (q,),
                    ).fetchall()
                    lat.append(time.perf_counter() - t)
                    found.append(len({r["id"] for r in got} & set(want)) / 10)
                per_batch = []
                for _ in range(args.batches):
                    batch = _new_rows(texts, BATCH)
                    with db.connection() as wconn:
                        t = time.perf_counter()
                        insert_memories(wconn, batch)
                        wconn.commit()
                        per_batch.append(time.perf_counter() - t)
                if using:
                    conn.execute("DROP INDEX bench_ann_variant")
                insert_s = statistics.median(per_batch)
                out["variants"][label] = {
                    "build_s": round(build_s, 2),
                    "insert_500_s_median": round(insert_s, 3),
                    "insert_per_s": round(BATCH / insert_s, 1),
                    "recall_at_10": round(statistics.mean(found), 3),
                    "query_p50_ms": round(statistics.median(lat) * 1000, 2),
                }
                rows.append(
                    (
                        label,
                        build_s,
                        insert_s * 1000,
                        BATCH / insert_s,
                        statistics.mean(found),
                        statistics.median(lat) * 1000,
                    )
                )
                print(
                    f"  {label}: insert {insert_s * 1000:.0f} ms per 500, recall {statistics.mean(found):.3f}"
                )
    print(
        f"\nOne namespace of {args.rows:,} memories (dim {dim}); {args.batches} batches of {BATCH} per variant"
    )
    table(("index", "build s", "INSERT of 500 (ms, median)", "rows/s", "recall@10", "query p50 ms"), rows)
    write_result("ann_insert", f"{args.rows // 1000}k", out, started)
    return out


if __name__ == "__main__":
    main()
