"""Per-namespace ANN indexes: a partial HNSW index for each namespace large enough that exact
distance over its rows costs more than the index (migrations 0006, 0013).

Small namespaces (most tenants) are searched exactly: the result is exact, and their inserts pay no
graph maintenance. ``maintain`` builds the index of a namespace that grew past the threshold (with
``CREATE INDEX CONCURRENTLY``: reads and writes go on meanwhile) and drops those of namespaces that
shrank far below it or were deleted.

Writes do not insert into a graph (migration 0013): an index holds the rows created before its
watermark (``graph_through``, the build's start) and the rows moved in since (``in_graph``). The
others are the namespace's *backlog*: the vector retriever (``nearest_sql``) walks the graph and adds
the exact nearest of the backlog; background maintenance empties it, by ``drain`` (moves rows in, in
batches) or by ``build`` again with a new watermark (``rebuild_due``: a backlog that is a large
share of the namespace).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# HNSW build parameters of the per-namespace indexes. Each graph holds one namespace, so its inserts
# cost what that namespace's size costs, never the store's. ef_construction 128 (pgvector's default is
# 64) builds a graph whose walk finds as much with a shorter list, and halfvec halves the bytes each
# distance reads: in a 100k namespace of a 1M store, recall@10 against exact distance 0.969 at
# ef_search 140 against 0.970 for the default's graph at 160, the walk in 0.74x the time; builds and
# drains cost more (docs/BENCHMARKS.md, "Query at SPEC size, fifth round").
BUILD_EF_CONSTRUCTION = 128
HNSW_WITH = f"m = 16, ef_construction = {BUILD_EF_CONSTRUCTION}"
# The graph holds each vector as ``halfvec`` (16-bit floats: half the bytes per distance, the index
# 0.6x the size): the walk orders by the same expression (``walk_order``) and the rows it returns
# are ranked by their exact distance.
BUILD_HALFVEC = True
# Session settings of every pooled connection. ef_search 160: recall@10 0.963 against exact distance
# in a 100k namespace with a graph built at ef_construction 64 (100: 0.938, 240: 0.977 at 1.4x the
# time; bench/bench_recall.py): what an index built before BUILD_EF_CONSTRUCTION needs. The iterative
# scan keeps walking the graph while the status filter removes rows.
SEARCH_SETTINGS = ("SET hnsw.ef_search = 160", "SET hnsw.iterative_scan = relaxed_order")
# The walk of a graph built with BUILD_EF_CONSTRUCTION (``Graph.ef_search``), set for the query's
# transaction. 120 was 0.5 points of recall@10 below the old graph at 160 over four query sets
# (0.952-0.967), 140 within 0.3 (0.969 against 0.970) for 0.3 ms more.
BUILT_EF_SEARCH = 140
# A smaller graph needs a shorter walk: up to SMALL_INDEX live memories the query sets ef_search 80
# for its transaction (recall@10 against exact distance 0.996 at 5k and 0.986 at 10k, against 0.997
# and 0.995 at 160, in 0.7x the time; bench/bench_recall.py --rows 5000 / 10000).
SMALL_INDEX, SMALL_INDEX_EF_SEARCH = 10_000, 80


def ef_search_for(live_memories: int) -> int | None:
    """The query's ``hnsw.ef_search`` for a namespace of this many live memories (None: its graph's,
    ``Graph.ef_search``)."""
    return SMALL_INDEX_EF_SEARCH if live_memories <= SMALL_INDEX else None


# Drain batches: rows moved into the graph per statement (each batch locks its rows for its
# duration, about 2.5 ms per row, so a concurrent dedup update of one of them waits at most that).
DRAIN_BATCH = 200
# A backlog of at least this share of the namespace (and REBUILD_MIN rows) is absorbed by a new
# build rather than moved in: at 100k rows the drain moved 321-446 rows/s and a concurrent build took
# 32-44 s, even at a backlog of 10-19 %; a build rewrites no row, and a 10,000-row backlog already
# costs the query's vector part ~12 ms (docs/BENCHMARKS.md, "Writes, fourth round").
REBUILD_SHARE, REBUILD_MIN = 0.10, 5_000


@dataclass(frozen=True)
class Graph:
    """A namespace's registered index. ``through``: its watermark (the rows created before it are in
    the graph, the others once ``in_graph``); None for an index built before migration 0013, which
    holds every row of the namespace (its rows pay the graph insert until it is rebuilt)."""

    name: str
    through: datetime | None
    ef_construction: int = 64  # its build's (pgvector's default for an index built before it was set)
    half_dim: int | None = None  # the graph holds ``embedding::halfvec(half_dim)`` (None: the vector)

    @property
    def outdated(self) -> bool:
        """Built before BUILD_EF_CONSTRUCTION (and halfvec): maintenance rebuilds it when it has the time."""
        return self.ef_construction < BUILD_EF_CONSTRUCTION

    @property
    def ef_search(self) -> int | None:
        """The walk this graph needs for the recall of the session's default (None: the session's
        160, for a graph built with pgvector's default ef_construction)."""
        return BUILT_EF_SEARCH if self.ef_construction >= BUILD_EF_CONSTRUCTION else None


def index_name(namespace: str) -> str:
    """A stable, valid identifier prefix for a namespace's index (namespaces allow ':', '@', '.');
    each build adds its watermark (a rebuild runs beside the index it replaces)."""
    return "memories_ann_" + hashlib.sha256(namespace.encode()).hexdigest()[:20]


# A registered index as a ``Graph``: its row in ``ann_indexes`` (alias ``a``) with its build's
# ef_construction (from the index's storage options) and the halfvec dimension its definition names.
_GRAPH_COLUMNS = (
    "a.index_name, a.graph_through, (SELECT o.option_value::int FROM pg_class c,"
    " pg_options_to_table(c.reloptions) o WHERE c.oid = to_regclass(quote_ident(a.index_name))"
    " AND o.option_name = 'ef_construction') AS ef_construction,"
    " substring(pg_get_indexdef(to_regclass(quote_ident(a.index_name))) FROM 'halfvec\\((\\d+)\\)')::int"
    " AS half_dim"
)


def _graph(row: dict[str, Any]) -> Graph:
    return Graph(row["index_name"], row["graph_through"], row["ef_construction"] or 64, row["half_dim"])


def graph_of(conn: psycopg.Connection[Any], namespace: str) -> Graph | None:
    """The namespace's registered index, with how it was built (``_GRAPH_COLUMNS``)."""
    row = conn.execute(
        f"SELECT {_GRAPH_COLUMNS} FROM ann_indexes a WHERE a.namespace = %s", (namespace,)
    ).fetchone()
    return _graph(row) if row is not None else None


def walk_order(graph: Graph | None, vec: str) -> str | None:
    """The distance of ``memories.embedding`` to the vector ``vec`` (SQL) as ``graph``'s index orders
    by it when that is not the exact distance (a ``halfvec`` graph; None: the exact distance)."""
    if graph is None or graph.half_dim is None:
        return None
    return f"embedding::halfvec({graph.half_dim}) <=> ({vec})::halfvec({graph.half_dim})"


def has_index(conn: psycopg.Connection[Any], namespace: str) -> bool:
    return graph_of(conn, namespace) is not None


def _through_sql(graph: Graph) -> str:
    """The watermark as a SQL literal (the planner matches a partial index's predicate only
    against constants). Microseconds, UTC: equal to the stored value."""
    assert graph.through is not None
    return "'" + graph.through.isoformat() + "'::timestamptz"


def in_graph_sql(graph: Graph) -> str:
    """The condition a row of the namespace meets when it is in ``graph`` (its index predicate's
    second half)."""
    return "true" if graph.through is None else f"(in_graph OR created_at < {_through_sql(graph)})"


def backlog_sql(graph: Graph) -> str:
    """The condition a row of the namespace meets when it is not in ``graph`` yet (the complement of
    ``in_graph_sql``; served by the partial btree index ``memories_graph_backlog``)."""
    return "false" if graph.through is None else f"NOT in_graph AND created_at >= {_through_sql(graph)}"


def nearest_sql(
    select: str,
    order: str,
    limit: str,
    graph: Graph | None,
    walk_where: str,
    where: str,
    outer_order: str,
    namespace_sql: str = "%(ns)s",
    walk_order: str | None = None,
) -> str:
    """The vector retriever: ``SELECT select FROM memories`` the ``limit`` nearest rows by ``order``.

    Without a graph: exact distance over ``where``. With one: its walk (``walk_where``: the same
    filter with the namespace as a literal, so the planner can match the index's predicate) and,
    unless the index predates the backlog, the exact nearest of the backlog (``where``), merged by
    ``outer_order`` (the same order, written over the selected columns). The backlog part is exact,
    so a row not yet in the graph ranks as exact search would rank it. ``namespace_sql``: how
    ``where`` writes the namespace. ``walk_order``: the walk's order when the graph orders by
    another expression than ``order`` (``walk_order()``: a ``halfvec`` graph); the rows it returns
    are then ranked by ``outer_order``.
    """
    if graph is None:
        return f"SELECT {select} FROM memories WHERE {where} ORDER BY {order} LIMIT {limit}"
    walk = f"SELECT {select} FROM memories WHERE {walk_where}"
    if graph.through is None and walk_order is None:
        return f"{walk} ORDER BY {order} LIMIT {limit}"
    if graph.through is None:
        return f"SELECT * FROM ({walk} ORDER BY {walk_order} LIMIT {limit}) nearest ORDER BY {outer_order}"
    # The backlog's rows first, the filters after them (OFFSET 0 keeps the two steps apart): no
    # index of live rows can serve the first, so it reads the backlog index. With the filters in
    # it and stale statistics (e.g. right after a bulk ingest) the planner read the whole namespace
    # through memories_ns_occurred instead (2.6 ms against 0.4 ms for a 100-row backlog at 5k).
    backlog = (
        f"SELECT {select} FROM (SELECT * FROM memories WHERE namespace = {namespace_sql}"
        f" AND {backlog_sql(graph)} OFFSET 0) memories WHERE {where} ORDER BY {order} LIMIT {limit}"
    )
    return (
        f"SELECT * FROM (({walk} AND {in_graph_sql(graph)} ORDER BY {walk_order or order} LIMIT {limit})"
        f" UNION ALL ({backlog})) nearest ORDER BY {outer_order} LIMIT {limit}"
    )


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


def registered(conn: psycopg.Connection[Any]) -> list[tuple[str, int, Graph]]:
    """Every registered index: (namespace, its live memories now, its graph as ``graph_of`` reads it)."""
    rows = conn.execute(
        f"SELECT a.namespace, coalesce(s.docs, 0) AS docs, {_GRAPH_COLUMNS}"
        " FROM ann_indexes a LEFT JOIN namespace_stats s USING (namespace) ORDER BY a.namespace"
    ).fetchall()
    return [(row["namespace"], int(row["docs"]), _graph(row)) for row in rows]


def backlog(conn: psycopg.Connection[Any], namespace: str, graph: Graph, cap: int) -> int:
    """Rows of the namespace not in ``graph`` (counted up to ``cap``), through the backlog index."""
    row = conn.execute(
        f"SELECT count(*) AS n FROM (SELECT 1 FROM memories WHERE namespace = %s AND {backlog_sql(graph)}"
        " LIMIT %s) b",
        (namespace, cap),
    ).fetchone()
    return int(row["n"]) if row else 0


def drain(conn: psycopg.Connection[Any], namespace: str, graph: Graph, limit: int | None = None) -> int:
    """Move up to ``limit`` (default ``DRAIN_BATCH``) backlog rows (oldest first) into the graph; returns how many. Run in its
    own transaction: rows another drain holds are skipped (SKIP LOCKED), and a row moved meanwhile
    is not moved twice (its ``in_graph`` is checked again once locked)."""
    if graph.through is None:
        return 0
    cur = conn.execute(
        "UPDATE memories m SET in_graph = true FROM (SELECT id FROM memories"
        f" WHERE namespace = %s AND {backlog_sql(graph)} ORDER BY created_at LIMIT %s"
        " FOR UPDATE SKIP LOCKED) b WHERE m.id = b.id AND NOT m.in_graph",
        (namespace, limit or DRAIN_BATCH),
    )
    return cur.rowcount


def build(conn: psycopg.Connection[Any], namespace: str, memories: int) -> str:
    """Build the namespace's index concurrently with the watermark now and register it in place of
    the one it had (dropped after). ``conn`` must be in autocommit mode (``CREATE INDEX
    CONCURRENTLY`` cannot run inside a transaction block). The rows created before the watermark
    are in the new graph, the rows moved in (``in_graph``) stay in it."""
    from psycopg import sql

    prefix = index_name(namespace)
    old = graph_of(conn, namespace)
    # An interrupted build leaves an INVALID index that no row of ann_indexes names: drop it.
    for row in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE %s"
        " AND indexname NOT IN (SELECT index_name FROM ann_indexes)",
        (prefix + "%",),
    ).fetchall():
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(row["indexname"])))
    through = conn.execute("SELECT date_trunc('milliseconds', clock_timestamp()) AS t").fetchone()
    assert through is not None
    graph = Graph(f"{prefix}_{int(through['t'].timestamp() * 1000):x}", through["t"])
    dim = conn.execute(
        "SELECT atttypmod AS dim FROM pg_attribute WHERE attrelid = 'memories'::regclass"
        " AND attname = 'embedding'"
    ).fetchone()
    # The declared dimension (a vector column without one, -1, keeps full-precision vectors; an HNSW
    # index holds halfvec of at most 4,000 dimensions).
    column = (
        f"(embedding::halfvec({int(dim['dim'])})) halfvec_cosine_ops"
        if BUILD_HALFVEC and dim and 0 < int(dim["dim"]) <= 4000
        else "embedding vector_cosine_ops"
    )
    conn.execute(
        sql.SQL(
            "CREATE INDEX CONCURRENTLY {} ON memories USING hnsw (" + column + ")"
            " WITH (" + HNSW_WITH + ") WHERE namespace = {} AND " + in_graph_sql(graph)
        ).format(sql.Identifier(graph.name), sql.Literal(namespace))
    )
    conn.execute(
        "INSERT INTO ann_indexes (namespace, index_name, memories, graph_through) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (namespace) DO UPDATE SET index_name = EXCLUDED.index_name,"
        " memories = EXCLUDED.memories, graph_through = EXCLUDED.graph_through, built_at = now()",
        (namespace, graph.name, memories, graph.through),
    )
    if old is not None and old.name != graph.name:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(old.name)))
    return graph.name


def drop(conn: psycopg.Connection[Any], namespace: str, name: str) -> None:
    """Unregister, then drop the index concurrently (``conn`` in autocommit mode)."""
    from psycopg import sql

    conn.execute("DELETE FROM ann_indexes WHERE namespace = %s", (namespace,))
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
