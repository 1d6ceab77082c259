"""One memory at a time: list (newest first, cursor paging), get, update (versioned), delete, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from memos import working_memory
from memos.access.auth import Identity
from memos.kernel.errors import Conflict, NotFound
from memos.memory import forget, importance
from memos.models import MemoryOut, MemoryPage
from memos.retrieval import lexical
from memos.store import audit, db
from memos.store import memories as store
from memos.store.status import MemoryStatus


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
        importance=importance.current_of(row, datetime.now(UTC)),  # decayed and reinforced, as of now
        status=row["status"],
        duplicate_of=row["duplicate_of"],
        superseded_by=row["superseded_by"],
    )


def list_memories(
    namespace: str, *, session_id: str | None, kind: str | None, cursor: str | None, limit: int
) -> MemoryPage:
    with db.connection() as conn:
        rows, next_cursor = store.list_page(
            conn, namespace, session_id=session_id, kind=kind, cursor=cursor, limit=limit
        )
        conn.rollback()
    return MemoryPage(memories=[to_out(r) for r in rows], next_cursor=next_cursor)


def _gone(row: dict[str, Any] | None, who: Identity) -> bool:
    """Missing, forgotten (deleted or expired, by decay or TTL) or another tenant's: all 'not found'."""
    if row is None or not who.can_see(row["namespace"]):
        return True
    if row["status"] in (MemoryStatus.DELETED, MemoryStatus.EXPIRED):
        return True
    expires_at = row.get("expires_at")
    return expires_at is not None and expires_at <= datetime.now(UTC)


def get_visible(who: Identity, memory_id: UUID) -> MemoryOut:
    """A memory the caller may read; another tenant's memory is 'not found', exactly like a missing one."""
    with db.connection() as conn:
        row = store.get_memory(conn, memory_id)
        conn.rollback()
    if _gone(row, who):
        raise NotFound("no such memory")
    assert row is not None
    return to_out(row)


def _locked_visible_row(conn: Any, who: Identity, memory_id: UUID) -> dict[str, Any]:
    row = store.lock_row(conn, memory_id)
    if _gone(row, who):
        raise NotFound("no such memory")
    assert row is not None
    return row


def update_memory(
    who: Identity, memory_id: UUID, changes: dict[str, Any], *, request_id: str | None
) -> MemoryOut:
    """PATCH: new text (re-embedded), metadata (replaced) and/or importance; the old version is kept."""
    from psycopg.errors import UniqueViolation

    from memos.embeddings import space
    from memos.kernel.text import content_hash, indexed_text
    from memos.kernel.tokens import count_tokens

    with db.connection() as conn:
        embedder = space.active(conn)  # first in the transaction: the embedder of the stored vectors
        row = _locked_visible_row(conn, who, memory_id)
        if row["status"] != MemoryStatus.ACTIVE:
            raise Conflict(f"this memory is {row['status']}; only active memories can be edited")
        store.snapshot_version(conn, memory_id, "update")
        changes = _redacted(row["namespace"], changes)
        edit = store.MemoryEdit(metadata=changes.get("metadata"), importance=changes.get("importance"))
        if "text" in changes:
            text = changes["text"]
            edit.text, edit.content_hash, edit.tokens = text, content_hash(text), count_tokens(text)
            edit.embedding = embedder.embed([text])[0]
        try:
            store.apply_edit(conn, memory_id, edit)
        except UniqueViolation as exc:
            raise Conflict("another live memory already has this text") from exc
        if edit.text is not None:  # lexical retrieval finds the memory by its new words only
            lexical.forget_terms(conn, [row])
            new_metadata = edit.metadata if edit.metadata is not None else row["metadata"]
            lexical.record_terms(conn, row["namespace"], [(memory_id, indexed_text(edit.text, new_metadata))])
        details = {"fields": sorted(changes), "from_version": row["version"]}
        _audit(conn, "update", row, who, request_id, details)
        out = store.get_memory(conn, memory_id)
        conn.commit()
    working_memory.WorkingMemory().invalidate(row["namespace"], row["session_id"])
    assert out is not None
    return to_out(out)


def _audit(
    conn: Any,
    action: str,
    row: dict[str, Any],
    who: Identity,
    request_id: str | None,
    details: dict[str, Any],
) -> None:
    """The audit event of a change ``who`` made to the memory ``row``."""
    audit.record(
        conn,
        action,
        namespace=row["namespace"],
        session_id=row["session_id"],
        actor=who.key_id,
        memory_id=row["id"],
        request_id=request_id,
        details=details,
    )


def delete_memory(who: Identity, memory_id: UUID, *, request_id: str | None) -> None:
    """Forget one memory everywhere (``memos.memory.forget``); a tombstone stays for audit."""
    with db.connection() as conn:
        row = _locked_visible_row(conn, who, memory_id)
        sessions = forget.forget_memories(conn, [memory_id], status=MemoryStatus.DELETED, by=who.key_id)
        details = {"previous_status": row["status"], "content_hash": row["content_hash"]}
        _audit(conn, "delete", row, who, request_id, details)
        conn.commit()
    forget.flush_l1(sessions)


def _redacted(namespace: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A PATCH's new text and metadata, PII-redacted when the namespace's policy says so (as ingest)."""
    from memos.governance import pii, policy_store

    if not policy_store.get_policy(namespace).pii_redaction:
        return changes
    out = dict(changes)
    if out.get("text") is not None:
        out["text"] = pii.redact(out["text"])[0]
    if out.get("metadata") is not None:
        out["metadata"] = pii.redact_json(out["metadata"])[0]
    return out


class MemoryVersion(BaseModel):
    version: int
    text: str
    metadata: dict[str, Any]
    importance: float
    status: str
    changed_at: datetime
    change: str


class FactVersion(BaseModel):
    """One value of a fact over time (bi-temporal): true from ``valid_from`` (when it was said)
    until ``valid_to`` (when the next value was said; null while current), recorded at ``recorded_at``."""

    memory_id: UUID
    text: str
    status: str
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime


class MemoryRead(BaseModel):
    """One access-audit event that handed this memory out."""

    at: datetime
    action: str
    actor: str | None
    request_id: str | None


class MemoryHistory(BaseModel):
    memory: MemoryOut
    versions: list[MemoryVersion]
    reads: list[MemoryRead]
    duplicates: list[UUID]
    supersedes: list[UUID]
    fact_history: list[FactVersion] = []  # every value of this memory's fact, oldest first


def history(who: Identity, memory_id: UUID) -> MemoryHistory:
    """Every earlier version, the memories linked to this one by dedup or supersede, and who read
    it when (query, answer and export access-audit events, newest first, up to 100)."""
    with db.connection() as conn:
        row = store.get_memory(conn, memory_id)
        # A deleted memory's tombstone (no text, no metadata) still shows its history; an expired one is gone.
        if _gone(row, who) and not (
            row is not None and row["status"] == MemoryStatus.DELETED and who.can_see(row["namespace"])
        ):
            raise NotFound("no such memory")
        assert row is not None
        versions = store.versions(conn, memory_id)
        links = store.linked(conn, memory_id)
        reads = audit.reads_of(conn, memory_id)
        replaced = row["superseded_by"] or any(r["superseded_by"] == memory_id for r in links)
        chain = store.fact_chain(conn, memory_id) if replaced else []
        conn.rollback()
    return MemoryHistory(
        memory=to_out(row),
        versions=[MemoryVersion.model_validate(v) for v in versions],
        reads=[MemoryRead.model_validate(r) for r in reads],
        duplicates=[r["id"] for r in links if r["duplicate_of"] == memory_id],
        supersedes=[r["id"] for r in links if r["superseded_by"] == memory_id],
        fact_history=[FactVersion.model_validate(r) for r in chain],
    )
