"""Each memory's distinct stemmed content terms (migration 0011), kept beside its postings
(``memos.store.postings``): the query reads its candidates' terms with them
(``memos.store.candidates``) instead of tokenising their texts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def put(conn: psycopg.Connection[Any], rows: Sequence[tuple[UUID, list[str]]]) -> None:
    """Store (memory id, its content terms) in the caller's transaction, distinct terms in order of
    first use; a memory's earlier row is replaced (an edit, a retried write)."""
    if not rows:
        return
    flat = [(memory_id, i, t) for memory_id, terms in rows for i, t in enumerate(dict.fromkeys(terms))]
    empty = [memory_id for memory_id, terms in rows if not terms]  # a text of stopwords only
    conn.execute(
        "INSERT INTO memory_terms (memory_id, terms)"
        " SELECT u.m, coalesce(array_agg(u.t ORDER BY u.o) FILTER (WHERE u.t IS NOT NULL), '{}')"
        " FROM unnest(%s::uuid[], %s::int[], %s::text[]) AS u(m, o, t) GROUP BY u.m"
        " ON CONFLICT (memory_id) DO UPDATE SET terms = EXCLUDED.terms",
        (
            [f[0] for f in flat] + empty,
            [f[1] for f in flat] + [0] * len(empty),
            [f[2] for f in flat] + [None] * len(empty),
        ),
    )


def remove(conn: psycopg.Connection[Any], memory_ids: Collection[UUID]) -> None:
    """Forget the terms of these memories (forgotten or edited)."""
    if memory_ids:
        conn.execute("DELETE FROM memory_terms WHERE memory_id = ANY(%s)", (list(memory_ids),))
