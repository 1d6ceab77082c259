"""Per-namespace ANN indexes: a partial HNSW index (``WHERE namespace = '<ns>'``) for each namespace
large enough that exact distance over its rows costs more than the index (migration 0006).

Small namespaces (most tenants) are searched exactly: the result is exact, and their inserts pay no
graph maintenance. ``maintain`` builds the index of a namespace that grew past the threshold (with
``CREATE INDEX CONCURRENTLY``: reads and writes go on meanwhile) and drops those of namespaces that
shrank far below it or were deleted.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# HNSW build parameters of the per-namespace indexes: pgvector's defaults. Each graph holds one
# namespace, so its inserts cost what that namespace's size costs, never the store's.
HNSW_WITH = "m = 16, ef_construction = 64"
# Session settings of every pooled connection. ef_search 160: recall@10 0.963 against exact distance
# in a 100k namespace (100: 0.938, 240: 0.977 at 1.4x the time; bench/bench_recall.py). The iterative
# scan keeps walking the graph while the status filter removes rows.
SEARCH_SETTINGS = ("SET hnsw.ef_search = 160", "SET hnsw.iterative_scan = relaxed_order")
# A smaller graph needs a shorter walk: up to SMALL_INDEX live memories the query sets ef_search 80
# for its transaction (recall@10 against exact distance 0.996 at 5k and 0.986 at 10k, against 0.997
# and 0.995 at 160, in 0.7x the time; bench/bench_recall.py --rows 5000 / 10000).
SMALL_INDEX, SMALL_INDEX_EF_SEARCH = 10_000, 80


def ef_search_for(live_memories: int) -> int | None:
    """The query's ``hnsw.ef_search`` for a namespace of this many live memories (None: the
    session's, 160)."""
    return SMALL_INDEX_EF_SEARCH if live_memories <= SMALL_INDEX else None


def index_name(namespace: str) -> str:
    """A stable, valid identifier for a namespace's index (namespaces allow ':', '@', '.')."""
    return "memories_ann_" + hashlib.sha256(namespace.encode()).hexdigest()[:20]


def has_index(conn: psycopg.Connection[Any], namespace: str) -> bool:
    row = conn.execute("SELECT 1 FROM ann_indexes WHERE namespace = %s", (namespace,)).fetchone()
    return row is not None


def due(conn: psycopg.Connection[Any], min_memories: int) -> list[dict[str, Any]]:
    """Namespaces with at least ``min_memories`` live memories (term statistics count them) and no
    index yet, largest first."""
    return conn.execute(
        "SELECT s.namespace, s.docs FROM namespace_stats s LEFT JOIN ann_indexes a USING (namespace)"
        " WHERE s.docs >= %s AND a.namespace IS NULL ORDER BY s.docs DESC",
        (min_memories,),
    ).fetchall()


def forget_lost(conn: psycopg.Connection[Any]) -> list[str]:
    """Unregister indexes that no longer exist (a dimension change drops them with the old column,
    ``memos.embeddings.reembed``); returns their namespaces, which become due again."""
    rows = conn.execute(
        "DELETE FROM ann_indexes a WHERE NOT EXISTS (SELECT 1 FROM pg_indexes i"
        " WHERE i.tablename = 'memories' AND i.indexname = a.index_name) RETURNING a.namespace"
    ).fetchall()
    return [r["namespace"] for r in rows]


def obsolete(conn: psycopg.Connection[Any], keep_above: int) -> list[dict[str, Any]]:
    """Indexed namespaces that now hold fewer than ``keep_above`` live memories (or none)."""
    return conn.execute(
        "SELECT a.namespace, a.index_name FROM ann_indexes a LEFT JOIN namespace_stats s USING (namespace)"
        " WHERE coalesce(s.docs, 0) < %s",
        (keep_above,),
    ).fetchall()


def build(conn: psycopg.Connection[Any], namespace: str, memories: int) -> str:
    """Build the namespace's index concurrently and register it. ``conn`` must be in autocommit mode
    (``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction block)."""
    from psycopg import sql

    name = index_name(namespace)
    # A build that was interrupted leaves an INVALID index of that name: drop it and start again.
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(
        sql.SQL(
            "CREATE INDEX CONCURRENTLY {} ON memories USING hnsw (embedding vector_cosine_ops)"
            " WITH (" + HNSW_WITH + ") WHERE namespace = {}"
        ).format(sql.Identifier(name), sql.Literal(namespace))
    )
    conn.execute(
        "INSERT INTO ann_indexes (namespace, index_name, memories) VALUES (%s, %s, %s)"
        " ON CONFLICT (namespace) DO UPDATE SET index_name = EXCLUDED.index_name,"
        " memories = EXCLUDED.memories, built_at = now()",
        (namespace, name, memories),
    )
    return name


def drop(conn: psycopg.Connection[Any], namespace: str, name: str) -> None:
    """Unregister, then drop the index concurrently (``conn`` in autocommit mode)."""
    from psycopg import sql

    conn.execute("DELETE FROM ann_indexes WHERE namespace = %s", (namespace,))
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
