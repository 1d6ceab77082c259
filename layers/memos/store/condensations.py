"""Condensations: the session's condensation progress, the turns to fold, the stored summaries.

Every function runs in the caller's transaction; ``lock_session`` takes the session row lock
that serialises condensation with ingest (which reserves turns under the same lock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.db import jsonb
from memos.store.status import JobStatus, active

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def lock_session(conn: psycopg.Connection[Any], namespace: str, session_id: str) -> dict[str, Any] | None:
    """The session's turn and condensation counters, locked FOR UPDATE; None if there is no session."""
    return conn.execute(
        "SELECT turn_count, token_count, condensed_through_turn FROM sessions"
        " WHERE namespace = %s AND session_id = %s FOR UPDATE",
        (namespace, session_id),
    ).fetchone()


def is_done(conn: psycopg.Connection[Any], job_id: str) -> bool:
    return (
        conn.execute(
            f"SELECT 1 FROM condensations WHERE job_id = %s AND status = '{JobStatus.DONE}'", (job_id,)
        ).fetchone()
        is not None
    )


def latest_summary(conn: psycopg.Connection[Any], namespace: str, session_id: str) -> dict[str, Any] | None:
    """The summary of the session's newest done condensation (None before the first)."""
    row = conn.execute(
        "SELECT summary FROM condensations WHERE namespace = %s AND session_id = %s"
        f" AND status = '{JobStatus.DONE}' ORDER BY to_turn DESC LIMIT 1",
        (namespace, session_id),
    ).fetchone()
    return row["summary"] if row else None


def active_turns(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, start: int, through: int
) -> list[dict[str, Any]]:
    """The session's active turns numbered start..through, in turn order (the range stays contiguous
    by number; duplicates, superseded, expired or deleted rows in it are left out)."""
    return conn.execute(
        "SELECT id, role, text, occurred_at, metadata FROM memories WHERE namespace = %s AND session_id = %s"
        f" AND turn_no BETWEEN %s AND %s AND {active()} ORDER BY turn_no",
        (namespace, session_id, start, through),
    ).fetchall()


def save_done(
    conn: psycopg.Connection[Any],
    *,
    condensation_id: UUID,
    job_id: str,
    namespace: str,
    session_id: str,
    from_turn: int,
    to_turn: int,
    summary: dict[str, Any],
    summary_text: str,
    tokens_before: int,
    tokens_after: int,
) -> None:
    """Store a done condensation (a retried job id overwrites its row) and advance the session."""
    conn.execute(
        "INSERT INTO condensations (id, job_id, namespace, session_id, from_turn, to_turn, status, summary,"
        " summary_text, tokens_before, tokens_after, completed_at)"
        f" VALUES (%s, %s, %s, %s, %s, %s, '{JobStatus.DONE}', %s, %s, %s, %s, now())"
        " ON CONFLICT (job_id) DO UPDATE SET id = EXCLUDED.id, from_turn = EXCLUDED.from_turn,"
        f"  to_turn = EXCLUDED.to_turn, status = '{JobStatus.DONE}', summary = EXCLUDED.summary,"
        "  summary_text = EXCLUDED.summary_text, tokens_before = EXCLUDED.tokens_before,"
        "  tokens_after = EXCLUDED.tokens_after, error = NULL, completed_at = now()",
        (
            condensation_id,
            job_id,
            namespace,
            session_id,
            from_turn,
            to_turn,
            jsonb(summary),
            summary_text,
            tokens_before,
            tokens_after,
        ),
    )
    conn.execute(
        "UPDATE sessions SET condensed_through_turn = %s, condensed_token_count = token_count"
        " WHERE namespace = %s AND session_id = %s",
        (to_turn, namespace, session_id),
    )


def mark_enqueued(conn: psycopg.Connection[Any], namespace: str, jobs: list[tuple[str, int]]) -> None:
    """Record jobs, as (session id, through turn), in the outbox (migration 0012): the trigger's latch
    (``condense_enqueued_turn``) and since when the job waits to be sent. One statement per batch."""
    if jobs:
        conn.execute(
            "UPDATE sessions AS s SET condense_enqueued_turn = u.turn,"
            " condense_unsent_since = coalesce(s.condense_unsent_since, now())"
            " FROM unnest(%b::text[], %b::int8[]) AS u(sid, turn)"
            " WHERE s.namespace = %s AND s.session_id = u.sid",
            ([sid for sid, _ in jobs], [turn for _, turn in jobs], namespace),
        )


def mark_sent(conn: psycopg.Connection[Any], jobs: list[tuple[str, str, int]]) -> None:
    """Jobs, as (namespace, session id, through turn), that the queue accepted leave the outbox (a
    session whose newer job is recorded meanwhile keeps waiting for that one)."""
    if jobs:
        conn.execute(
            "UPDATE sessions AS s SET condense_unsent_since = NULL"
            " FROM unnest(%b::text[], %b::text[], %b::int8[]) AS u(ns, sid, turn)"
            " WHERE s.namespace = u.ns AND s.session_id = u.sid AND s.condense_enqueued_turn = u.turn"
            " AND s.condense_unsent_since IS NOT NULL",
            ([j[0] for j in jobs], [j[1] for j in jobs], [j[2] for j in jobs]),
        )


def unsent(conn: psycopg.Connection[Any], older_than_s: float, limit: int) -> list[dict[str, Any]]:
    """Jobs recorded at least ``older_than_s`` seconds ago and still not sent, oldest first
    (namespace, session_id, through_turn)."""
    return conn.execute(
        "SELECT namespace, session_id, condense_enqueued_turn AS through_turn FROM sessions"
        " WHERE condense_unsent_since IS NOT NULL"
        " AND condense_unsent_since <= now() - make_interval(secs => %s)"
        " ORDER BY condense_unsent_since LIMIT %s",
        (older_than_s, limit),
    ).fetchall()
