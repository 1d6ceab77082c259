"""Exact or approximate vector search, chosen per namespace (``memos.store.ann``).

A query asks ``uses_index`` (cached for a few seconds per process: the answer changes only when the
background job builds, rebuilds or drops an index); the decay job calls ``maintain`` after its pass,
which also moves each indexed namespace's backlog (the rows written since, not in its graph yet)
into the graph, and ``drain`` does that for one namespace.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from memos.kernel.config import get_settings
from memos.kernel.observability import logger
from memos.store import ann, db

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_CACHE_TTL_S = 10.0
# After a condensation job, its namespace's backlog is moved into the graph when it holds at least
# DRAIN_AT rows, for at most DRAIN_BUDGET_S (``drain_if_due``); the scheduled job drains the rest and
# rebuilds. The query's exact part over a backlog costs 1.2-1.8 ms per 1,000 rows at 100k
# (docs/BENCHMARKS.md, "Writes, fourth round").
DRAIN_AT, DRAIN_BUDGET_S = 1_000, 10.0
# An outdated graph (``Graph.outdated``) is only worth rebuilding, not needed: it is rebuilt when
# the time left fits a build at this rate, under half of what a 100k build ran at here (2,300-3,100
# rows/s, docs/BENCHMARKS.md "Query at SPEC size, fifth round"), so the job does not run out of
# time in the middle of one.
OUTDATED_REBUILD_ROWS_PER_S = 1_000
_cache: dict[
    str, tuple[float, ann.Graph | None]
] = {}  # namespace → (valid until, its index); no request data


def uses_index(conn: psycopg.Connection[Any], namespace: str) -> ann.Graph | None:
    """The namespace's index (None: exact search). A watermark cached across a rebuild is older
    than the new one: the query's walk still matches the new index (its condition implies the new
    predicate) and its backlog part reads the rows between the two by exact distance; the two parts
    stay complementary, so no row is missed or found twice."""
    hit = _cache.get(namespace)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    found = ann.graph_of(conn, namespace)
    _cache[namespace] = (time.monotonic() + _CACHE_TTL_S, found)
    return found


def ef_search_for(live_memories: int) -> int | None:
    """The HNSW walk's ``ef_search`` for a namespace of this many live memories (None: the default)."""
    return ann.ef_search_for(live_memories)


def maintain(min_memories: int | None = None, drain_budget_s: float = 60.0) -> dict[str, Any]:
    """Build the index of every namespace that reached ``min_memories`` live memories (default:
    ``MEMOS_ANN_MIN_MEMORIES``); drop the index of a namespace that fell below half of it; then
    empty the backlogs of the others (``drain``, within ``drain_budget_s`` in all). Returns the
    namespaces built and dropped, and the rows moved into graphs (``drained``)."""
    threshold = min_memories or get_settings().ann_min_memories
    built: list[str] = []
    dropped: list[str] = []
    drained: dict[str, int] = {}
    with db.autocommit_connection() as conn:
        ann.forget_lost(conn)  # e.g. dropped with the old column by a dimension change: rebuilt below
        for row in ann.obsolete(conn, threshold // 2):
            ann.drop(conn, row["namespace"], row["index_name"])
            dropped.append(row["namespace"])
        for row in ann.due(conn, threshold):
            t = time.perf_counter()
            ann.build(conn, row["namespace"], row["docs"])
            built.append(row["namespace"])
            logger.info(
                "ann index built",
                extra={
                    "namespace": row["namespace"],
                    "memories": row["docs"],
                    "seconds": time.perf_counter() - t,
                },
            )
        deadline = time.monotonic() + drain_budget_s
        for namespace, docs, graph in ann.registered(conn):
            if namespace in built or time.monotonic() >= deadline:
                continue
            moved = _drain(conn, namespace, graph, docs, deadline)
            if moved:
                drained[namespace] = moved
    _cache.clear()
    return {"built": built, "dropped": dropped, "drained": drained}


def drain(namespace: str, budget_s: float = 10.0) -> int:
    """Move the namespace's backlog into its graph for up to ``budget_s`` (rebuilding instead when
    that is cheaper); returns the rows absorbed (0: no index, or no backlog)."""
    with db.autocommit_connection() as conn:
        graph = ann.graph_of(conn, namespace)
        if graph is None:
            return 0
        row = conn.execute("SELECT docs FROM namespace_stats WHERE namespace = %s", (namespace,)).fetchone()
        moved = _drain(conn, namespace, graph, int(row["docs"]) if row else 0, time.monotonic() + budget_s)
    _cache.pop(namespace, None)
    return moved


def drain_if_due(namespace: str, budget_s: float = DRAIN_BUDGET_S) -> int:
    """After a write-heavy stretch (the condensation worker calls it after each job): move the
    namespace's backlog into its graph if it holds at least ``DRAIN_AT`` rows, for up to
    ``DRAIN_BUDGET_S`` (or the caller's ``budget_s``, if less). Never rebuilds (that is the
    scheduled job's, which has the time). Returns the rows moved."""
    at, budget_s = DRAIN_AT, min(budget_s, DRAIN_BUDGET_S)
    moved = 0
    with db.autocommit_connection() as conn:
        graph = ann.graph_of(conn, namespace)  # not the cached one: a rebuild moves the watermark
        if graph is None or graph.through is None or ann.backlog(conn, namespace, graph, at) < at:
            return 0
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            n = ann.drain(conn, namespace, graph)
            if n == 0:
                break
            moved += n
    logger.info("ann backlog drained", extra={"namespace": namespace, "rows": moved})
    return moved


def _drain(
    conn: psycopg.Connection[Any], namespace: str, graph: ann.Graph, docs: int, deadline: float
) -> int:
    """Rebuild an index from before the backlog, one whose backlog is a large share of the namespace
    (``ann.REBUILD_SHARE``), or one built with older parameters (``Graph.outdated``: it walks longer
    for the same recall) when its build fits before the deadline; otherwise move the backlog into
    the graph in batches until it is empty or the deadline passes. Returns the rows absorbed."""
    rebuild_at = max(ann.REBUILD_MIN, int(docs * ann.REBUILD_SHARE))
    pending = ann.backlog(conn, namespace, graph, rebuild_at) if graph.through is not None else 0
    upgrade = graph.outdated and docs <= (deadline - time.monotonic()) * OUTDATED_REBUILD_ROWS_PER_S
    if graph.through is None or upgrade or pending >= rebuild_at:
        if pending:
            pending = ann.backlog(conn, namespace, graph, docs + pending)  # what the build absorbs
        t = time.perf_counter()
        ann.build(conn, namespace, docs)
        logger.info(
            "ann index rebuilt",
            extra={"namespace": namespace, "backlog": pending, "seconds": time.perf_counter() - t},
        )
        return pending
    moved = 0
    while pending > 0 and time.monotonic() < deadline:
        n = ann.drain(conn, namespace, graph)
        if n == 0:
            break  # empty, or every remaining row held by another drain
        moved += n
    return moved


def clear_cache() -> None:
    _cache.clear()
