"""One memory at a time: list (newest first, cursor paging), get, update (versioned), delete, history."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.errors import UniqueViolation
from pydantic import BaseModel

from memos import working_memory
from memos.access.auth import Identity
from memos.kernel.errors import BadRequest, Conflict, NotFound
from memos.models import MemoryOut, MemoryPage
from memos.store import audit, db, long_term

LIVE = long_term.LIVE


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


def _visible_row(conn: Any, who: Identity, memory_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(f"SELECT * FROM memories WHERE id = %s{lock}", (memory_id,)).fetchone()
    if row is None or row["status"] == "deleted" or not who.can_see(row["namespace"]):
        raise NotFound("no such memory")
    return dict(row)


def update_memory(
    who: Identity, memory_id: UUID, changes: dict[str, Any], *, request_id: str | None
) -> MemoryOut:
    """PATCH: new text (re-embedded), metadata (replaced) and/or importance; the old version is kept."""
    from memos.embeddings import get_embedder
    from memos.kernel.text import content_hash
    from memos.kernel.tokens import count_tokens

    with db.connection() as conn:
        row = _visible_row(conn, who, memory_id, for_update=True)
        who.require("memory:write", row["namespace"])
        if row["status"] != "active":
            raise Conflict(f"this memory is {row['status']}; only active memories can be edited")
        long_term.snapshot_version(conn, memory_id, "update")
        sets, params = ["version = version + 1", "updated_at = now()"], []
        if "text" in changes:
            text = changes["text"]
            sets += ["text = %s", "content_hash = %s", "tokens = %s", "embedding = %s"]
            params += [text, content_hash(text), count_tokens(text), get_embedder().embed([text])[0]]
        if "metadata" in changes:
            sets.append("metadata = %s")
            params.append(db.jsonb(changes["metadata"]))
        if "importance" in changes:
            sets += ["importance = %s", "base_importance = %s"]
            params += [changes["importance"], changes["importance"]]
        try:
            conn.execute(f"UPDATE memories SET {', '.join(sets)} WHERE id = %s", [*params, memory_id])
        except UniqueViolation as exc:
            raise Conflict("another live memory already has this text") from exc
        audit.record(
            conn,
            "update",
            namespace=row["namespace"],
            session_id=row["session_id"],
            actor=who.key_id,
            memory_id=memory_id,
            request_id=request_id,
            details={"fields": sorted(changes), "from_version": row["version"]},
        )
        out = long_term.get_memory(conn, memory_id)
        conn.commit()
    working_memory.WorkingMemory().invalidate(row["namespace"], row["session_id"])
    assert out is not None
    return to_out(out)


def delete_memory(who: Identity, memory_id: UUID, *, request_id: str | None) -> None:
    """Forget one memory: it leaves every read path; the row stays for history and audit."""
    with db.connection() as conn:
        row = _visible_row(conn, who, memory_id, for_update=True)
        who.require("memory:write", row["namespace"])
        long_term.snapshot_version(conn, memory_id, "delete")
        conn.execute(
            "UPDATE memories SET status = 'deleted', version = version + 1, updated_at = now() WHERE id = %s",
            (memory_id,),
        )
        audit.record(
            conn,
            "delete",
            namespace=row["namespace"],
            session_id=row["session_id"],
            actor=who.key_id,
            memory_id=memory_id,
            request_id=request_id,
            details={"previous_status": row["status"]},
        )
        conn.commit()
    working_memory.WorkingMemory().invalidate(row["namespace"], row["session_id"])


class MemoryVersion(BaseModel):
    version: int
    text: str
    metadata: dict[str, Any]
    importance: float
    status: str
    changed_at: datetime
    change: str


class MemoryHistory(BaseModel):
    memory: MemoryOut
    versions: list[MemoryVersion]
    duplicates: list[UUID]
    supersedes: list[UUID]


def history(who: Identity, memory_id: UUID) -> MemoryHistory:
    """Every earlier version, and the memories linked to this one by dedup or supersede."""
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT {long_term.MEMORY_COLUMNS} FROM memories WHERE id = %s", (memory_id,)
        ).fetchone()
        if row is None or not who.can_see(row["namespace"]):
            raise NotFound("no such memory")
        who.require("memory:read")
        versions = conn.execute(
            "SELECT version, text, metadata, importance, status, changed_at, change FROM memory_versions"
            " WHERE memory_id = %s ORDER BY version",
            (memory_id,),
        ).fetchall()
        links = conn.execute(
            "SELECT id, duplicate_of, superseded_by FROM memories WHERE duplicate_of = %s OR superseded_by = %s",
            (memory_id, memory_id),
        ).fetchall()
        conn.rollback()
    return MemoryHistory(
        memory=to_out(row),
        versions=[MemoryVersion.model_validate(v) for v in versions],
        duplicates=[r["id"] for r in links if r["duplicate_of"] == memory_id],
        supersedes=[r["id"] for r in links if r["superseded_by"] == memory_id],
    )
