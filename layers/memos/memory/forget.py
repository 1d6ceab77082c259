"""Forgetting that reaches every derived copy: one function per step, shared by every path.

Delete, session reset, namespace delete, TTL expiry and decay all end here. In the caller's
transaction ``forget_derived`` removes a memory from:
- its PATCH history (memory_versions),
- L3 evidence (entities and relations left without evidence are deleted; mention counts drop),
- the rolling summaries of its session (items that folded it are dropped from every condensation
  of the chain, so each row still folds the previous one; the text is re-rendered),
- stored context packs that hold it or a summary that folded it (deleted),
- BM25 term statistics (document frequencies decremented; terms no document holds are deleted),
and queues its session's L1 window in the L1 cleanup outbox (``memos.memory.l1_cleanup``). After
the commit, ``flush_l1`` clears the windows; one that Redis did not take stays queued and the decay
job retries it (``l1_cleanup.drain``). L2 is the truth, so the API reports the forget done once L2 is.

Idempotency records in Redis hold response data (memory ids and statuses) and a hash of the
request body, never memory text; audit events hold ids and counts, never text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

from memos.kernel.tokens import count_tokens
from memos.memory import l1_cleanup
from memos.retrieval import lexical
from memos.store import forget as store
from memos.working_memory import WorkingMemory

Session = tuple[str, str]


def forget_memories(
    conn: psycopg.Connection[Any], ids: Sequence[UUID], *, status: str | None, by: str | None
) -> set[Session]:
    """Turn ``ids`` into tombstones and forget every derived copy; the sessions whose L1 window
    must be cleared (queued; call ``flush_l1`` after the commit)."""
    return forget_derived(conn, store.tombstone(conn, ids, status=status, by=by))


def forget_rows_where(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> set[Session]:
    """Before a hard delete of the memories matching ``where``: forget their derived copies."""
    return forget_derived(conn, store.rows_where(conn, where, params))


def forget_derived(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> set[Session]:
    """Remove forgotten memories (rows as they were: id, namespace, session_id, status, text,
    metadata) from every derived copy in L2, and queue their L1 windows."""
    if not rows:
        return set()
    ids = [r["id"] for r in rows]
    sessions = {(r["namespace"], r["session_id"]) for r in rows}
    store.delete_versions(conn, ids)
    store.drop_evidence(conn, ids)
    summarized = _redact_summaries(conn, sessions, {str(i) for i in ids})
    store.delete_packs(conn, {r["namespace"] for r in rows}, ids, summarized)
    lexical.forget_terms(conn, rows)
    for namespace in {n for n, _ in sessions}:
        l1_cleanup.enqueue(conn, namespace, sorted(s for n, s in sessions if n == namespace))
    return sessions


def _redact_summaries(conn: psycopg.Connection[Any], sessions: set[Session], ids: set[str]) -> set[Session]:
    """Drop every summary item that folded a forgotten memory; the sessions whose summaries changed."""
    from memos.governance.summarizer import render
    from memos.governance.summarizer.summary import CATEGORIES

    changed: set[Session] = set()
    for row in store.summaries_of(conn, sessions):
        summary = dict(row["summary"])
        dropped = False
        for category in CATEGORIES:
            items = summary.get(category) or []
            kept = [i for i in items if not (set(i.get("memory_ids") or []) & ids)]
            dropped |= len(kept) != len(items)
            summary[category] = kept
        if not dropped:
            continue
        # Fewer items than before: the text fits the budget it was rendered within (render records
        # what it leaves out in omitted_from_text).
        budget = summary.get("text_tokens")
        text = render(summary, budget=budget if isinstance(budget, int) else None)
        summary["text_tokens"] = count_tokens(text)
        store.rewrite_summary(conn, row["id"], summary, text, count_tokens(text))
        changed.add((row["namespace"], row["session_id"]))
    return changed


def flush_l1(sessions: Collection[Session], l1: WorkingMemory | None = None) -> None:
    """After the commit: clear these sessions' L1 windows (what Redis does not take stays queued)."""
    by_namespace: dict[str, list[str]] = defaultdict(list)
    for namespace, session_id in sorted(sessions):
        by_namespace[namespace].append(session_id)
    for namespace, session_ids in by_namespace.items():
        l1_cleanup.run(namespace, session_ids, l1)
