"""Pending L1 cleanups: the Redis half of a delete that already committed in L2.

A delete (session reset, namespace delete) records the windows to drop in ``l1_cleanups`` in its
own transaction, so the request can answer success once L2 committed even when Redis hangs. The
windows are dropped right after the commit and, when Redis could not be reached, by ``drain``
(run by the decay job and the local workers) until Redis confirms. Until then reads never serve
the stale window: ``WorkingMemory.window`` checks every cached window against L2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memos.kernel.errors import DependencyUnavailable
from memos.kernel.observability import logger, metrics
from memos.store import db
from memos.store import l1_cleanups as outbox
from memos.working_memory import WorkingMemory

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def enqueue(conn: psycopg.Connection[Any], namespace: str, session_ids: list[str]) -> None:
    """Record windows to drop, inside the caller's deleting transaction."""
    outbox.enqueue(conn, namespace, session_ids)


def run(namespace: str, session_ids: list[str], l1: WorkingMemory | None = None) -> int:
    """Drop these windows now; stop at the first Redis failure (the rest waits for ``drain``).
    Returns how many were dropped."""
    l1 = l1 or WorkingMemory()
    done: list[str] = []
    try:
        for session_id in session_ids:
            l1.clear(namespace, session_id)
            done.append(session_id)
    except DependencyUnavailable as exc:
        logger.warning("L1 cleanup deferred: Redis unavailable", extra={"error": exc.message})
    if done:
        try:
            _forget(namespace, done)
        except DependencyUnavailable:  # the delete itself committed; drain clears the rows later
            logger.warning("L1 cleanup bookkeeping deferred: PostgreSQL unavailable")
    if len(done) < len(session_ids):
        metrics.add_metric(name="L1CleanupsDeferred", unit="Count", value=len(session_ids) - len(done))
    return len(done)


def drain(limit: int = 500, l1: WorkingMemory | None = None) -> int:
    """Retry pending cleanups, oldest first. Returns how many are still pending."""
    with db.connection() as conn:
        rows = outbox.claim(conn, limit)
        conn.commit()
    by_namespace: dict[str, list[str]] = {}
    for r in rows:
        by_namespace.setdefault(r["namespace"], []).append(r["session_id"])
    for namespace, session_ids in by_namespace.items():
        if run(namespace, session_ids, l1) < len(session_ids):
            break  # Redis is still away; no point trying the other namespaces now
    return pending()


def pending() -> int:
    with db.connection() as conn:
        n = outbox.count(conn)
        conn.rollback()
    return n


def _forget(namespace: str, session_ids: list[str]) -> None:
    with db.connection() as conn:
        outbox.done(conn, namespace, session_ids)
        conn.commit()
