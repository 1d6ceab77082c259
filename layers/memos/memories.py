"""Reading memories back: list (newest first, cursor paging) and get, within the caller's namespaces."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from memos import db, long_term
from memos.auth import Identity
from memos.errors import BadRequest, NotFound
from memos.models import MemoryOut, MemoryPage

LIVE = "status = 'active' AND (expires_at IS NULL OR expires_at > now())"


def to_out(row: dict[str, Any]) -> MemoryOut:
    return MemoryOut(
        memory_id=row["id"],
        namespace=row["namespace"],
        session_id=row["session_id"],
        role=row["role"],
        kind=row["kind"],
        text=row["text"],
        metadata=row["metadata"],
        occurred_at=row["occurred_at"],
        created_at=row["created_at"],
        importance=row["importance"],
        status=row["status"],
        duplicate_of=row["duplicate_of"],
        superseded_by=row["superseded_by"],
    )


def _encode_cursor(created_at: datetime, memory_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(memory_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, mid = json.loads(raw)
        return datetime.fromisoformat(at), UUID(mid)
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


def list_memories(
    namespace: str, *, session_id: str | None, kind: str | None, cursor: str | None, limit: int
) -> MemoryPage:
    clauses = ["namespace = %s", LIVE]
    params: list[Any] = [namespace]
    if session_id:
        clauses.append("session_id = %s")
        params.append(session_id)
    if kind:
        clauses.append("kind = %s")
        params.append(kind)
    if cursor:
        at, mid = _decode_cursor(cursor)
        clauses.append("(created_at, id) < (%s, %s)")
        params += [at, mid]
    params.append(limit + 1)
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT {long_term.MEMORY_COLUMNS} FROM memories WHERE {' AND '.join(clauses)}"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            params,
        ).fetchall()
        conn.rollback()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return MemoryPage(memories=[to_out(r) for r in rows], next_cursor=next_cursor)


def get_visible(who: Identity, memory_id: UUID) -> MemoryOut:
    """A memory the caller may read; another tenant's memory is 'not found', exactly like a missing one."""
    with db.connection() as conn:
        row = long_term.get_memory(conn, memory_id)
        conn.rollback()
    if row is None or row["status"] == "deleted" or not who.can_see(row["namespace"]):
        raise NotFound("no such memory")
    who.require("memory:read")
    return to_out(row)
