"""Access audit: which memories a query, an answer or an export handed to whom.

One audit row per request (``memory_ids`` in its details: ids only, never text), written by one
function in one INSERT, so it can move off the request's critical path without changing what is
recorded. Its commit does not wait for the WAL flush (``synchronous_commit = off`` for this one
transaction): a crash may lose the last fraction of a second of read events, never a write.
On by default; a namespace turns it off with the policy's ``audit_reads``.
``GET /v1/memories/{id}/history`` lists these reads (``memos.store.audit.reads_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from memos.governance import policy_store
from memos.models import QueryResponse
from memos.store import audit, db


def returned_ids(resp: QueryResponse) -> list[str]:
    """Every memory a query response carries: results, context pack items and the L1 window."""
    ids = [str(r.memory_id) for r in resp.results]
    ids += [str(i["memory_id"]) for i in resp.context_pack.items]
    ids += [str(t["memory_id"]) for t in resp.context_pack.l1_window]
    return list(dict.fromkeys(ids))


def record_read(
    action: str,
    *,
    namespace: str,
    session_id: str | None,
    actor: str | None,
    request_id: str | None,
    memory_ids: Iterable[UUID | str],
    details: dict[str, Any] | None = None,
) -> None:
    """Write the access-audit event of one read (skipped when the namespace's policy says so)."""
    if not policy_store.get_policy(namespace).audit_reads:
        return
    ids = list(dict.fromkeys(str(i) for i in memory_ids))
    with db.connection() as conn:
        audit.commit_without_flush_wait(conn)
        audit.record(
            conn,
            action,
            namespace=namespace,
            session_id=session_id,
            actor=actor,
            request_id=request_id,
            details={"memory_ids": ids, "count": len(ids), **(details or {})},
        )
        conn.commit()
