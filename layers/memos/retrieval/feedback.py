"""Access feedback, off the query path: a query stores the memories it handed out with its context
pack (``memos.store.context_packs``); ``apply`` turns them into access counts and importance later,
in batches (the decay job, and the local stack's worker, call it).

At-least-once: the claim of a pack's feedback and the update of the memories commit together, so a
process killed between a query's answer and ``apply`` loses nothing (the pack waits in PostgreSQL),
and a failed ``apply`` leaves the feedback for the next one, never applies it twice.
"""

from __future__ import annotations

from memos.store import context_packs, db
from memos.store import memories as memory_store

BATCH_PACKS = 2_000


def apply(max_batches: int = 50) -> int:
    """Apply pending feedback, ``BATCH_PACKS`` packs per transaction; returns the touches applied."""
    applied = 0
    for _ in range(max_batches):
        with db.connection() as conn:
            uses = context_packs.take_touches(conn, BATCH_PACKS)
            if not uses:
                conn.rollback()
                break
            memory_store.touch(conn, uses)
            conn.commit()
        applied += len(uses)
    return applied
