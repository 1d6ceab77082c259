"""Session reset: clear one session everywhere (L1, memories, summaries, context packs, pending jobs)."""

from __future__ import annotations

from typing import Any

import psycopg
from pydantic import BaseModel

from memos.access.auth import Identity
from memos.kernel.errors import BadRequest
from memos.memory import l1_cleanup
from memos.store import audit, db
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


def unlink_and_delete(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> int:
    """Hard-delete memories matching ``where``, first clearing links to them from other rows and
    removing them from L3 evidence (entities or relations left without evidence go too)."""
    ids = [r["id"] for r in conn.execute(f"SELECT id FROM memories WHERE {where}", params).fetchall()]
    if not ids:
        return 0
    conn.execute("UPDATE memories SET duplicate_of = NULL WHERE duplicate_of = ANY(%s)", (ids,))
    conn.execute("UPDATE memories SET superseded_by = NULL WHERE superseded_by = ANY(%s)", (ids,))
    for table in ("relations", "entities"):
        emptied = conn.execute(
            f"UPDATE {table} SET evidence = ARRAY(SELECT e FROM unnest(evidence) AS e WHERE e <> ALL(%s))"
            " WHERE evidence && %s::uuid[] RETURNING id, cardinality(evidence) AS left_over",
            (ids, ids),
        ).fetchall()
        gone = [r["id"] for r in emptied if r["left_over"] == 0]
        if gone:
            conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (gone,))
    conn.execute("DELETE FROM memories WHERE id = ANY(%s)", (ids,))
    return len(ids)


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
    who.require("memory:write", namespace)
    if not confirm and not dry_run:
        raise BadRequest("resetting a session deletes its memories: send confirm: true (or dry_run: true)")
    key = (namespace, session_id)
    with db.connection() as conn:
        session = conn.execute(
            "SELECT * FROM sessions WHERE namespace = %s AND session_id = %s FOR UPDATE", key
        ).fetchone()

        def count(sql: str) -> int:
            return int(conn.execute(sql, key).fetchone()["n"])  # type: ignore[index]

        counts = ResetCounts(
            memories=count("SELECT count(*) AS n FROM memories WHERE namespace = %s AND session_id = %s"),
            summaries=count(
                "SELECT count(*) AS n FROM condensations WHERE namespace = %s AND session_id = %s"
            ),
            context_packs=count(
                "SELECT count(*) AS n FROM context_packs WHERE namespace = %s AND session_id = %s"
            ),
            pending_jobs=int(
                bool(session and session["condense_enqueued_turn"] > session["condensed_through_turn"])
            ),
            l1_windows=int(WorkingMemory().exists(namespace, session_id)),
            entity_evidence=count(
                "SELECT count(*) AS n FROM entities WHERE namespace = %s AND evidence && ARRAY("
                "SELECT id FROM memories WHERE namespace = entities.namespace AND session_id = %s)"
            ),
            audit_events=count(
                "SELECT count(*) AS n FROM audit_events WHERE namespace = %s AND session_id = %s"
            )
            if clear_audit
            else 0,
        )
        if dry_run:
            conn.rollback()
            return ResetResult(namespace=namespace, session_id=session_id, dry_run=True, counts=counts)
        unlink_and_delete(conn, "namespace = %s AND session_id = %s", key)
        conn.execute("DELETE FROM condensations WHERE namespace = %s AND session_id = %s", key)
        conn.execute("DELETE FROM context_packs WHERE namespace = %s AND session_id = %s", key)
        # Pending SQS jobs cannot be picked out of the queue: without the sessions row, the
        # consumer finds nothing to condense and skips them.
        conn.execute("DELETE FROM sessions WHERE namespace = %s AND session_id = %s", key)
        if clear_audit:
            conn.execute("DELETE FROM audit_events WHERE namespace = %s AND session_id = %s", key)
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
    l1_cleanup.run(namespace, [session_id])  # L2 committed: success even if Redis is away now
    return ResetResult(namespace=namespace, session_id=session_id, dry_run=False, counts=counts)
