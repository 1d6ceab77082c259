"""Access audit: which memories a query, an answer or an export handed to whom.

One audit row per request (``memory_ids`` in its details: ids only, never text), written by one
function in one INSERT. A query writes it in the same short transaction as its stored context pack
(``memos.retrieval.search``), whose commit does not wait for the WAL flush (``synchronous_commit =
off``): a crash of PostgreSQL may lose the last fraction of a second of read events, never a write.
On by default; a namespace turns it off with the policy's ``audit_reads``.
``GET /v1/memories/{id}/history`` lists these reads (``memos.store.audit.reads_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.governance import policy_store
from memos.models import QueryResponse
from memos.store import audit, db

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


@dataclass(frozen=True)
class Reader:
    """Who reads, for the audit row: the action (query, answer, export), the key and the request."""

    action: str
    actor: str | None
    request_id: str | None
    via: str | None = None  # the door it came through when not the REST API ("mcp")


def returned_ids(resp: QueryResponse) -> list[str]:
    """Every memory a query response carries: results, context pack items and the L1 window."""
    ids = [str(r.memory_id) for r in resp.results]
    ids += [str(i["memory_id"]) for i in resp.context_pack.items]
    ids += [str(t["memory_id"]) for t in resp.context_pack.l1_window]
    return list(dict.fromkeys(ids))


def record(
    conn: psycopg.Connection[Any],
    reader: Reader,
    *,
    namespace: str,
    session_id: str | None,
    memory_ids: Iterable[UUID | str],
    details: dict[str, Any] | None = None,
) -> None:
    """Write the access-audit event of one read in the caller's transaction (skipped when the
    namespace's policy says so)."""
    if not policy_store.get_policy(namespace).audit_reads:
        return
    ids = list(dict.fromkeys(str(i) for i in memory_ids))
    audit.record(
        conn,
        reader.action,
        namespace=namespace,
        session_id=session_id,
        actor=reader.actor,
        request_id=reader.request_id,
        details={
            "memory_ids": ids,
            "count": len(ids),
            **({"via": reader.via} if reader.via else {}),
            **(details or {}),
        },
    )


def record_read(
    reader: Reader,
    *,
    namespace: str,
    session_id: str | None,
    memory_ids: Iterable[UUID | str],
    details: dict[str, Any] | None = None,
) -> None:
    """``record`` in a transaction of its own whose commit does not wait for the WAL flush."""
    with db.connection() as conn:
        audit.commit_without_flush_wait(conn)
        record(
            conn, reader, namespace=namespace, session_id=session_id, memory_ids=memory_ids, details=details
        )
        conn.commit()
