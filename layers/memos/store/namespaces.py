"""A whole namespace's rows: deleting all of them, and reading what an export hands out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memos.store.status import LIVE, JobStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# Besides memories and sessions, every table keyed by namespace that a namespace delete empties.
_TABLES = (
    "condensations",
    "context_packs",
    "relations",
    "entities",
    "policies",
    "term_stats",
    "namespace_stats",
    "postings",
)


def session_ids(conn: psycopg.Connection[Any], namespace: str) -> list[str]:
    rows = conn.execute("SELECT session_id FROM sessions WHERE namespace = %s", (namespace,)).fetchall()
    return [r["session_id"] for r in rows]


def delete_rows(conn: psycopg.Connection[Any], namespace: str) -> dict[str, int]:
    """Hard-delete every row of the namespace; returns rows deleted per table."""
    deleted = {
        "memories": conn.execute("DELETE FROM memories WHERE namespace = %s", (namespace,)).rowcount,
        "sessions": conn.execute("DELETE FROM sessions WHERE namespace = %s", (namespace,)).rowcount,
    }
    for table in _TABLES:
        deleted[table] = conn.execute(f"DELETE FROM {table} WHERE namespace = %s", (namespace,)).rowcount
    return deleted


def live_memories(conn: psycopg.Connection[Any], namespace: str) -> list[dict[str, Any]]:
    """Every live memory, by session and turn (forgotten ones are not exported)."""
    return conn.execute(
        "SELECT id, session_id, turn_no, role, kind, text, metadata, occurred_at, created_at, importance"
        f" FROM memories WHERE namespace = %s AND {LIVE} ORDER BY session_id, turn_no",
        (namespace,),
    ).fetchall()


def finished_summaries(conn: psycopg.Connection[Any], namespace: str) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT id, session_id, from_turn, to_turn, summary, summary_text, tokens_before, tokens_after,"
        " completed_at FROM condensations WHERE namespace = %s AND status = %s ORDER BY session_id, to_turn",
        (namespace, JobStatus.DONE),
    ).fetchall()


def all_entities(conn: psycopg.Connection[Any], namespace: str) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT id, name, type, aliases, evidence, mention_count FROM entities WHERE namespace = %s ORDER BY name",
        (namespace,),
    ).fetchall()
