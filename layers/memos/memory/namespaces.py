"""Whole-namespace operations: forget everything (audited), and export as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from memos.access.auth import Identity
from memos.kernel.errors import NotFound
from memos.memory import l1_cleanup
from memos.memory.memories import LIVE
from memos.store import audit, db

_TABLES = ("condensations", "context_packs", "relations", "entities", "policies")


class NamespaceDeleted(BaseModel):
    namespace: str
    deleted: dict[str, int]


def delete_namespace(who: Identity, namespace: str, *, request_id: str | None) -> NamespaceDeleted:
    """Hard-delete every row of the namespace, then its L1 windows (see memos.l1_cleanup).
    The audit trail keeps the fact."""
    who.require("admin", namespace)
    deleted: dict[str, int] = {}
    with db.connection() as conn:
        sessions = [
            r["session_id"]
            for r in conn.execute(
                "SELECT session_id FROM sessions WHERE namespace = %s", (namespace,)
            ).fetchall()
        ]
        deleted["memories"] = conn.execute("DELETE FROM memories WHERE namespace = %s", (namespace,)).rowcount
        deleted["sessions"] = conn.execute("DELETE FROM sessions WHERE namespace = %s", (namespace,)).rowcount
        for table in _TABLES:
            deleted[table] = conn.execute(f"DELETE FROM {table} WHERE namespace = %s", (namespace,)).rowcount
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


def export_lines(who: Identity, namespace: str) -> Iterator[str]:
    """JSON Lines: live memories, then summaries, then entities. Forgotten memories are not exported."""
    who.require("memory:read", namespace)
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT id, session_id, turn_no, role, kind, text, metadata, occurred_at, created_at, importance"
            f" FROM memories WHERE namespace = %s AND {LIVE} ORDER BY session_id, turn_no",
            (namespace,),
        ).fetchall()
        summaries = conn.execute(
            "SELECT id, session_id, from_turn, to_turn, summary, summary_text, tokens_before, tokens_after,"
            " completed_at FROM condensations WHERE namespace = %s AND status = 'done' ORDER BY session_id, to_turn",
            (namespace,),
        ).fetchall()
        entities = conn.execute(
            "SELECT id, name, type, aliases, evidence, mention_count FROM entities WHERE namespace = %s ORDER BY name",
            (namespace,),
        ).fetchall()
        conn.rollback()
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
