"""The query path's first reads, pipelined in one round trip: the embedding-space lock and row
(``memos.store.reembed``), the namespace's statistics of the query's terms (``memos.store.terms``),
the known entities the query names (``memos.store.entities``) and, for a session, its latest
summary (``memos.store.context_packs``) and the ids of its last live turns (``memos.store.memories``,
what an up-to-date L1 window holds). The lock comes first: the
reads after it see a finished embedding-space switch (lock order: the space, then the tables)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memos.store import context_packs, entities, memories, reembed, terms

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


@dataclass
class FirstReads:
    space: dict[str, Any]  # the embedding_space row, read under the shared lock
    counts: tuple[int, int, dict[str, int]]  # ``terms.load``: documents, total terms, df per term
    known: dict[str, str] = field(default_factory=dict)  # ``entities.known``: name → normalized name
    summary: dict[str, Any] | None = None  # ``context_packs.latest_summary`` of the session
    meanwhile: Any = None  # what ``read``'s ``meanwhile`` returned
    turn_ids: list[str] | None = None  # ``memories.recent_turn_ids`` of the session (``window``)


def read(
    conn: psycopg.Connection[Any],
    namespace: str,
    query_terms: list[str],
    entity_names: Iterable[str] = (),
    session_id: str | None = None,
    *,
    window: int = 0,
    meanwhile: Callable[[], Any] | None = None,
) -> FirstReads:
    """The reads in one round trip (no entity read when ``entity_names`` is empty, no summary read
    without a ``session_id``; the ids of the session's last ``window`` live turns with a
    ``session_id`` and a ``window``). ``meanwhile`` runs after the reads are sent, while the server
    answers them (the query embeds its text and reads the session's L1 window from Redis then)."""
    names = sorted(set(entity_names))
    done = None
    with conn.pipeline():
        space_cur = reembed.send_space_lock(conn)
        stats_cur = terms.send_load(conn, namespace, query_terms)
        known_cur = entities.send_known(conn, namespace, names) if names else None
        summary_cur = context_packs.send_latest_summary(conn, namespace, session_id) if session_id else None
        turns_cur = (
            memories.send_recent_turn_ids(conn, namespace, session_id, window)
            if session_id and window
            else None
        )
        if meanwhile is not None:
            done = meanwhile()
    return FirstReads(
        reembed.space_row(space_cur),
        terms.read_load(stats_cur),
        entities.read_known(known_cur, names) if known_cur is not None else {},
        context_packs.read_latest_summary(summary_cur) if summary_cur is not None else None,
        done,
        memories.read_recent_turn_ids(turns_cur) if turns_cur is not None else None,
    )
