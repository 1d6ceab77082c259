"""The audit writer: every write and governance action becomes one row in audit_events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.db import jsonb

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

ACTIONS = frozenset(
    {
        "ingest",
        "update",
        "delete",
        "dedup",
        "supersede",
        "condense",
        "decay",
        "expire",
        "reset",
        "policy_change",
        "namespace_delete",
        "key_create",
        "key_revoke",
        "access_denied",
        "redact",
        "query",
        "answer",
        "export",
    }
)
READS = ("query", "answer", "export")  # access-audit actions: details carry the memory ids returned


def record(
    conn: psycopg.Connection[Any],
    action: str,
    *,
    namespace: str | None = None,
    session_id: str | None = None,
    actor: str | None = None,
    memory_id: UUID | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    record_many(conn, [(action, namespace, session_id, memory_id, details or {})], actor, request_id)


def record_many(
    conn: psycopg.Connection[Any],
    events: Iterable[tuple[str, str | None, str | None, UUID | None, dict[str, Any]]],
    actor: str | None,
    request_id: str | None,
) -> None:
    """Write events (action, namespace, session_id, memory_id, details) in the caller's transaction."""
    rows = []
    for action, namespace, session_id, memory_id, details in events:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        rows.append((action, namespace, session_id, actor, memory_id, request_id, jsonb(details)))
    if rows:  # one statement, rows (and their ids) in the given order
        conn.execute(
            "INSERT INTO audit_events (action, namespace, session_id, actor, memory_id, request_id, details)"
            " SELECT u.a, u.ns, u.sid, %(actor)s, u.m, %(rid)s, u.d FROM unnest(%(a)b::text[], %(ns)b::text[],"
            " %(sid)b::text[], %(m)b::uuid[], %(d)b::jsonb[]) WITH ORDINALITY AS u(a, ns, sid, m, d, o)"
            " ORDER BY u.o",
            {
                "actor": actor,
                "rid": request_id,
                "a": [r[0] for r in rows],
                "ns": [r[1] for r in rows],
                "sid": [r[2] for r in rows],
                "m": [r[4] for r in rows],
                "d": [r[6] for r in rows],
            },
        )


def record_one(
    conn: psycopg.Connection[Any],
    event: tuple[str, str | None, str | None, UUID | None, dict[str, Any]],
    actor: str | None,
    request_id: str | None,
) -> None:
    """``record_many`` of one event, with scalar parameters (a single add's)."""
    action, namespace, session_id, memory_id, details = event
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(
        "INSERT INTO audit_events (action, namespace, session_id, actor, memory_id, request_id, details)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (action, namespace, session_id, actor, memory_id, request_id, jsonb(details)),
    )


def reads_of(conn: psycopg.Connection[Any], memory_id: UUID, limit: int = 100) -> list[dict[str, Any]]:
    """Who read this memory when (query, answer, export events that returned it), newest first."""
    return conn.execute(
        "SELECT at, action, actor, request_id FROM audit_events"
        " WHERE details -> 'memory_ids' ? %s AND action = ANY(%s) ORDER BY at DESC, id DESC LIMIT %s",
        (str(memory_id), list(READS), limit),
    ).fetchall()


def commit_without_flush_wait(conn: psycopg.Connection[Any]) -> None:
    """This transaction's commit does not wait for the WAL flush (read events only: a crash within
    the WAL writer's delay may lose the last few; nothing they record is needed for correctness)."""
    conn.execute("SET LOCAL synchronous_commit = off")
