"""Context packs stored for replay, and the session summary a pack starts with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.models import ContextPack, QueryRequest, TokenUsage
from memos.store import db
from memos.store.status import JobStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def insert(
    conn: psycopg.Connection[Any], query_id: UUID, req: QueryRequest, pack: ContextPack, usage: TokenUsage
) -> None:
    conn.execute(
        "INSERT INTO context_packs (id, query_id, namespace, session_id, query, pack, candidate_tokens,"
        " packed_tokens) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            pack.id,
            query_id,
            req.namespace,
            req.session_id,
            req.query,
            db.jsonb(pack.model_dump(mode="json")),
            usage.candidates,
            usage.packed,
        ),
    )


def latest_summary(conn: psycopg.Connection[Any], namespace: str, session_id: str) -> dict[str, Any] | None:
    """The structured summary of the session's latest finished condensation, if it has one."""
    row = conn.execute(
        "SELECT summary FROM condensations WHERE namespace = %s AND session_id = %s AND status = %s"
        " ORDER BY to_turn DESC LIMIT 1",
        (namespace, session_id, JobStatus.DONE),
    ).fetchone()
    return row["summary"] if row and row["summary"] else None
