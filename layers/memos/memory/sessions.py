"""Session reset: clear one session everywhere (L1, memories, summaries, context packs, pending jobs)."""

from __future__ import annotations

from pydantic import BaseModel

from memos.access.auth import Identity
from memos.kernel.errors import BadRequest
from memos.memory import forget, l1_cleanup
from memos.store import audit, db
from memos.store import sessions as session_store
from memos.working_memory import WorkingMemory


class ResetCounts(BaseModel):
    memories: int
    summaries: int
    context_packs: int
    pending_jobs: int
    l1_windows: int
    entity_evidence: int
    audit_events: int


class ResetResult(BaseModel):
    namespace: str
    session_id: str
    dry_run: bool
    counts: ResetCounts


def reset_session(
    who: Identity,
    namespace: str,
    session_id: str,
    *,
    confirm: bool,
    dry_run: bool,
    clear_audit: bool,
    request_id: str | None,
) -> ResetResult:
    if not confirm and not dry_run:
        raise BadRequest("resetting a session deletes its memories: send confirm: true (or dry_run: true)")
    with db.connection() as conn:
        session = session_store.lock(conn, namespace, session_id)
        rows = session_store.count_rows(conn, namespace, session_id, with_audit=clear_audit)
        counts = ResetCounts(
            memories=rows.memories,
            summaries=rows.summaries,
            context_packs=rows.context_packs,
            pending_jobs=int(
                bool(session and session["condense_enqueued_turn"] > session["condensed_through_turn"])
            ),
            l1_windows=int(WorkingMemory().exists(namespace, session_id)),
            entity_evidence=rows.entity_evidence,
            audit_events=rows.audit_events,
        )
        if dry_run:
            conn.rollback()
            return ResetResult(namespace=namespace, session_id=session_id, dry_run=True, counts=counts)
        forgotten = forget.forget_rows_where(
            conn, "namespace = %s AND session_id = %s", (namespace, session_id)
        )
        session_store.erase(conn, namespace, session_id, with_audit=clear_audit)
        audit.record(
            conn,
            "reset",
            namespace=namespace,
            session_id=session_id,
            actor=who.key_id,
            request_id=request_id,
            details=counts.model_dump(),
        )
        l1_cleanup.enqueue(conn, namespace, [session_id])
        conn.commit()
    forget.flush_l1({*forgotten, (namespace, session_id)})  # L2 committed: done even if Redis is away
    return ResetResult(namespace=namespace, session_id=session_id, dry_run=False, counts=counts)
