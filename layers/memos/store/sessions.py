"""Sessions: the per-session counters ingest reserves turns from, and erasing one session's rows.

A session's rows live in several tables (memories, summaries, context packs, L3 evidence, audit);
this module is where one session is counted and erased across them, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def reserve_turns(
    conn: psycopg.Connection[Any], namespace: str, counts: dict[str, tuple[int, int]]
) -> dict[str, dict[str, Any]]:
    """Lock each session row (sorted, so batches never deadlock) and reserve turn numbers.

    ``counts`` maps session_id → (turns, tokens). Returns the session rows after the update;
    the reserved turns are ``turn_count - turns + 1 .. turn_count``.
    """
    return send_reserve_turns(conn, namespace, counts)()


def send_reserve_turns(
    conn: psycopg.Connection[Any], namespace: str, counts: dict[str, tuple[int, int]]
) -> Callable[[], dict[str, dict[str, Any]]]:
    """``reserve_turns`` sent (in a pipeline, with the statements that follow it); the returned
    function reads the session rows."""
    order = sorted(counts)  # rows are upserted (and locked) in this order
    cur = conn.execute(
        "INSERT INTO sessions AS s (namespace, session_id, turn_count, token_count)"
        " SELECT %s, u.sid, u.turns, u.tokens FROM unnest(%b::text[], %b::int8[], %b::int8[])"
        "   WITH ORDINALITY AS u(sid, turns, tokens, o) ORDER BY u.o"
        " ON CONFLICT (namespace, session_id) DO UPDATE SET turn_count = s.turn_count + EXCLUDED.turn_count,"
        "   token_count = s.token_count + EXCLUDED.token_count, last_at = now()"
        f" RETURNING {_ROW}",
        (namespace, order, [counts[sid][0] for sid in order], [counts[sid][1] for sid in order]),
    )
    return lambda: {r["session_id"]: r for r in cur.fetchall()}


_ROW = "session_id, turn_count, token_count, condensed_through_turn, condensed_token_count, condense_enqueued_turn"


def send_lock_existing(
    conn: psycopg.Connection[Any], namespace: str, session_ids: list[str]
) -> Callable[[], dict[str, dict[str, Any]]]:
    """Lock the rows these sessions already have (sorted, as ``send_reserve_turns`` locks them), sent
    in the caller's pipeline; the returned function reads them. A session without a row is not
    locked (nothing to lock until its first turn inserts it)."""
    cur = conn.execute(
        f"SELECT {_ROW} FROM sessions WHERE namespace = %s AND session_id = ANY(%b::text[])"
        " ORDER BY session_id FOR UPDATE",
        (namespace, sorted(set(session_ids))),
    )
    return lambda: {r["session_id"]: r for r in cur.fetchall()}


def send_lock_one(
    conn: psycopg.Connection[Any], namespace: str, session_id: str
) -> Callable[[], dict[str, dict[str, Any]]]:
    """``send_lock_existing`` of one session, with scalar parameters."""
    cur = conn.execute(
        f"SELECT {_ROW} FROM sessions WHERE namespace = %s AND session_id = %s FOR UPDATE",
        (namespace, session_id),
    )
    return lambda: {r["session_id"]: r for r in cur.fetchall()}


def send_reserve_one(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, turns: int, tokens: int
) -> Callable[[], dict[str, dict[str, Any]]]:
    """``send_reserve_turns`` of one session, with scalar parameters."""
    cur = conn.execute(
        "INSERT INTO sessions AS s (namespace, session_id, turn_count, token_count)"
        " VALUES (%s, %s, %s::int8, %s::int8)"
        " ON CONFLICT (namespace, session_id) DO UPDATE SET turn_count = s.turn_count + EXCLUDED.turn_count,"
        "   token_count = s.token_count + EXCLUDED.token_count, last_at = now()"
        f" RETURNING {_ROW}",
        (namespace, session_id, turns, tokens),
    )
    return lambda: {r["session_id"]: r for r in cur.fetchall()}


def after_reserving(row: dict[str, Any], turns: int, tokens: int) -> dict[str, Any]:
    """A session row locked by ``send_lock_existing`` as ``send_reserve_turns`` leaves it."""
    return {**row, "turn_count": row["turn_count"] + turns, "token_count": row["token_count"] + tokens}


def lock(conn: psycopg.Connection[Any], namespace: str, session_id: str) -> dict[str, Any] | None:
    """The session's row, locked against concurrent ingest until the transaction ends."""
    return conn.execute(
        "SELECT * FROM sessions WHERE namespace = %s AND session_id = %s FOR UPDATE", (namespace, session_id)
    ).fetchone()


@dataclass(frozen=True)
class SessionRows:
    """How many rows of each kind one session holds."""

    memories: int
    summaries: int
    context_packs: int
    entity_evidence: int
    audit_events: int


def count_rows(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, *, with_audit: bool
) -> SessionRows:
    """Row counts per kind; audit events are counted only ``with_audit`` (0 otherwise)."""
    key = (namespace, session_id)

    def count(sql: str) -> int:
        return int(conn.execute(sql, key).fetchone()["n"])  # type: ignore[index]

    return SessionRows(
        memories=count("SELECT count(*) AS n FROM memories WHERE namespace = %s AND session_id = %s"),
        summaries=count("SELECT count(*) AS n FROM condensations WHERE namespace = %s AND session_id = %s"),
        context_packs=count(
            "SELECT count(*) AS n FROM context_packs WHERE namespace = %s AND session_id = %s"
        ),
        entity_evidence=count(
            "SELECT count(*) AS n FROM entities WHERE namespace = %s AND evidence && ARRAY("
            "SELECT id FROM memories WHERE namespace = entities.namespace AND session_id = %s)"
        ),
        audit_events=count("SELECT count(*) AS n FROM audit_events WHERE namespace = %s AND session_id = %s")
        if with_audit
        else 0,
    )


def unlink_and_delete(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> int:
    """Hard-delete memories matching ``where``, first clearing links to them from other rows and
    removing them from L3 evidence (entities or relations left without evidence go too)."""
    ids = [r["id"] for r in conn.execute(f"SELECT id FROM memories WHERE {where}", params).fetchall()]
    if not ids:
        return 0
    conn.execute("UPDATE memories SET duplicate_of = NULL WHERE duplicate_of = ANY(%s)", (ids,))
    conn.execute("UPDATE memories SET superseded_by = NULL WHERE superseded_by = ANY(%s)", (ids,))
    for table in ("relations", "entities"):
        emptied = conn.execute(
            f"UPDATE {table} SET evidence = ARRAY(SELECT e FROM unnest(evidence) AS e WHERE e <> ALL(%s))"
            " WHERE evidence && %s::uuid[] RETURNING id, cardinality(evidence) AS left_over",
            (ids, ids),
        ).fetchall()
        gone = [r["id"] for r in emptied if r["left_over"] == 0]
        if gone:
            conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (gone,))
    conn.execute("DELETE FROM memories WHERE id = ANY(%s)", (ids,))
    return len(ids)


def erase(conn: psycopg.Connection[Any], namespace: str, session_id: str, *, with_audit: bool) -> None:
    """Delete every row of the session: memories (unlinked first), summaries, context packs, the
    session row itself and, when asked, its audit events."""
    key = (namespace, session_id)
    unlink_and_delete(conn, "namespace = %s AND session_id = %s", key)
    conn.execute("DELETE FROM condensations WHERE namespace = %s AND session_id = %s", key)
    conn.execute("DELETE FROM context_packs WHERE namespace = %s AND session_id = %s", key)
    # Pending SQS jobs cannot be picked out of the queue: without the sessions row, the
    # consumer finds nothing to condense and skips them.
    conn.execute("DELETE FROM sessions WHERE namespace = %s AND session_id = %s", key)
    if with_audit:
        conn.execute("DELETE FROM audit_events WHERE namespace = %s AND session_id = %s", key)
