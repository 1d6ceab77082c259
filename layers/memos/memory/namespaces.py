"""Whole-namespace operations: forget everything (audited), and export as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from memos.access.auth import Identity
from memos.governance import access_audit
from memos.kernel.errors import NotFound
from memos.memory import l1_cleanup
from memos.store import audit, db
from memos.store import namespaces as store


class NamespaceDeleted(BaseModel):
    namespace: str
    deleted: dict[str, int]


def delete_namespace(who: Identity, namespace: str, *, request_id: str | None) -> NamespaceDeleted:
    """Hard-delete every row of the namespace (derived ones too: summaries, packs, L3, term statistics,
    versions) and its L1 windows (queued in l1_cleanups if Redis is down, see memos.memory.l1_cleanup). The audit trail keeps the fact."""
    with db.connection() as conn:
        sessions = store.session_ids(conn, namespace)
        deleted = store.delete_rows(conn, namespace)
        if not any(deleted.values()):
            conn.rollback()
            raise NotFound("no such namespace")
        audit.record(
            conn,
            "namespace_delete",
            namespace=namespace,
            actor=who.key_id,
            request_id=request_id,
            details=deleted,
        )
        l1_cleanup.enqueue(conn, namespace, sessions)
        conn.commit()
    l1_cleanup.run(namespace, sessions)  # L2 committed: success even if Redis is away now
    return NamespaceDeleted(namespace=namespace, deleted=deleted)


def export_lines(who: Identity, namespace: str, *, request_id: str | None = None) -> Iterator[str]:
    """JSON Lines: live memories, then summaries, then entities. Forgotten memories are not exported.
    The export is access-audited (the ids of every memory it hands out)."""
    with db.connection() as conn:
        rows = store.live_memories(conn, namespace)
        summaries = store.finished_summaries(conn, namespace)
        entities = store.all_entities(conn, namespace)
        conn.rollback()
    access_audit.record_read(
        access_audit.Reader("export", who.key_id, request_id),
        namespace=namespace,
        session_id=None,
        memory_ids=[r["id"] for r in rows],
    )
    from memos.governance.summarizer import render
    from memos.retrieval.context_pack import without_forgotten

    with db.connection() as conn:
        for s in summaries:
            if s["summary"]:
                s["summary"] = without_forgotten(conn, s["summary"])
                s["summary_text"] = render(s["summary"])
        conn.rollback()
    for kind, batch in (("memory", rows), ("summary", summaries), ("entity", entities)):
        for row in batch:
            yield json.dumps({"type": kind, "namespace": namespace, **_plain(row)}, default=str)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k == "id" else v) for k, v in row.items()}
