"""Exact or approximate vector search, chosen per namespace (``memos.store.ann``).

A query asks ``uses_index`` (cached for a few seconds per process: the answer changes only when the
background job builds or drops an index); the decay job calls ``maintain`` after its pass.
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
_cache: dict[str, tuple[float, bool]] = {}  # namespace → (valid until, has an index); no request data


def uses_index(conn: psycopg.Connection[Any], namespace: str) -> bool:
    hit = _cache.get(namespace)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    found = ann.has_index(conn, namespace)
    _cache[namespace] = (time.monotonic() + _CACHE_TTL_S, found)
    return found


def ef_search_for(live_memories: int) -> int | None:
    """The HNSW walk's ``ef_search`` for a namespace of this many live memories (None: the default)."""
    return ann.ef_search_for(live_memories)


def maintain(min_memories: int | None = None) -> dict[str, list[str]]:
    """Build the index of every namespace that reached ``min_memories`` live memories (default:
    ``MEMOS_ANN_MIN_MEMORIES``); drop the index of a namespace that fell below half of it. Returns
    the namespaces built and dropped."""
    threshold = min_memories or get_settings().ann_min_memories
    built: list[str] = []
    dropped: list[str] = []
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
    _cache.clear()
    return {"built": built, "dropped": dropped}


def clear_cache() -> None:
    _cache.clear()
