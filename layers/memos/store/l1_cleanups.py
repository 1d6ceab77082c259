"""The outbox of L1 windows still to drop after a delete committed in L2 (see memory/l1_cleanup.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def enqueue(conn: psycopg.Connection[Any], namespace: str, session_ids: list[str]) -> None:
    """Record windows to drop, inside the caller's deleting transaction."""
    if session_ids:
        conn.execute(
            "INSERT INTO l1_cleanups (namespace, session_id)"
            " SELECT %s, s FROM unnest(%s::text[]) AS s ON CONFLICT DO NOTHING",
            (namespace, session_ids),
        )


def claim(conn: psycopg.Connection[Any], limit: int) -> list[dict[str, Any]]:
    """The oldest pending cleanups (skipping ones another worker holds), their attempts counted."""
    return conn.execute(
        "UPDATE l1_cleanups SET attempts = attempts + 1 WHERE (namespace, session_id) IN ("
        " SELECT namespace, session_id FROM l1_cleanups ORDER BY queued_at LIMIT %s"
        " FOR UPDATE SKIP LOCKED) RETURNING namespace, session_id",
        (limit,),
    ).fetchall()


def count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM l1_cleanups").fetchone()
    return int(row["n"]) if row else 0


def done(conn: psycopg.Connection[Any], namespace: str, session_ids: list[str]) -> None:
    conn.execute(
        "DELETE FROM l1_cleanups WHERE namespace = %s AND session_id = ANY(%s)", (namespace, session_ids)
    )
