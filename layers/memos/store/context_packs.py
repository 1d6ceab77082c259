"""Context packs stored for replay, and the session summary a pack starts with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.models import ContextPack, QueryRequest, TokenUsage
from memos.store import db
from memos.store.status import JobStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def insert(
    conn: psycopg.Connection[Any],
    query_id: UUID,
    req: QueryRequest,
    pack: ContextPack,
    usage: TokenUsage,
    *,
    touched: Sequence[UUID] = (),
) -> None:
    """Store a query's pack; ``touched`` (the memories it handed out) waits for ``take_touches``."""
    conn.execute(
        "INSERT INTO context_packs (id, query_id, namespace, session_id, query, pack, candidate_tokens,"
        " packed_tokens, touched) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            pack.id,
            query_id,
            req.namespace,
            req.session_id,
            req.query,
            db.jsonb_of_model(pack),
            usage.candidates,
            usage.packed,
            list(touched) or None,
        ),
    )


def take_touches(conn: psycopg.Connection[Any], limit: int) -> list[tuple[UUID, datetime]]:
    """Claim up to ``limit`` packs' pending access feedback (oldest first; concurrent callers take
    different packs) and return (memory id, when the query ran) once per use. The claim commits
    with the caller's transaction, so feedback is applied exactly once or, on a rollback, later."""
    rows = conn.execute(
        "WITH claimed AS (SELECT id, touched, created_at FROM context_packs WHERE touched IS NOT NULL ORDER BY created_at"
        " LIMIT %s FOR UPDATE SKIP LOCKED),"
        " cleared AS (UPDATE context_packs p SET touched = NULL FROM claimed c WHERE p.id = c.id)"
        " SELECT touched AS ids, created_at FROM claimed",
        (limit,),
    ).fetchall()
    return [(i, r["created_at"]) for r in rows for i in r["ids"]]


def latest_summary(conn: psycopg.Connection[Any], namespace: str, session_id: str) -> dict[str, Any] | None:
    """The structured summary of the session's latest finished condensation, if it has one."""
    return read_latest_summary(send_latest_summary(conn, namespace, session_id))


def send_latest_summary(
    conn: psycopg.Connection[Any], namespace: str, session_id: str
) -> psycopg.Cursor[Any]:
    """``latest_summary``'s statement (queued, in a pipeline); ``read_latest_summary`` reads it."""
    return conn.execute(
        "SELECT summary FROM condensations WHERE namespace = %s AND session_id = %s AND status = %s"
        " ORDER BY to_turn DESC LIMIT 1",
        (namespace, session_id, JobStatus.DONE),
    )


def read_latest_summary(cur: psycopg.Cursor[Any]) -> dict[str, Any] | None:
    row = cur.fetchone()
    return row["summary"] if row and row["summary"] else None
