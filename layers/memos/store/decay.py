"""Decay runs: the batch-wise importance update and TTL expiry, and the run's resumable cursor.

Each function runs in the caller's transaction (one short transaction per batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.status import JobStatus, MemoryStatus, active

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_UPDATE = f"""
WITH cfg AS (
    SELECT * FROM unnest(%(ns)s::text[], %(hl)s::float8[], %(floor)s::float8[], %(kinds)s::text[],
                         %(ttl_e)s::int[], %(ttl_s)s::int[], %(ttl_p)s::int[], %(ttl_from)s::text[])
        AS c(namespace, half_life, floor, kinds, ttl_e, ttl_s, ttl_p, ttl_from)
),
calc AS (
    SELECT m.id, m.namespace, m.session_id, m.importance AS old,
           LEAST(1.0, m.base_importance * power(2.0, -extract(epoch FROM now() - GREATEST(m.created_at,
                 coalesce(m.last_accessed_at, m.created_at))) / 86400.0 / coalesce(c.half_life, %(d_hl)s))
                 + LEAST(0.3, 0.05 * ln(1 + m.access_count))) AS imp,
           position(m.kind IN coalesce(c.kinds, %(d_kinds)s)) > 0 AS decays,
           coalesce(c.floor, %(d_floor)s) AS floor,
           (m.expires_at IS NOT NULL AND m.expires_at <= now())
             OR CASE coalesce(c.ttl_from, %(d_ttl_from)s) WHEN 'ingested_at' THEN m.created_at
                  ELSE m.occurred_at END + make_interval(days => CASE m.kind
                  WHEN 'episodic' THEN coalesce(c.ttl_e, %(d_ttl_e)s)
                  WHEN 'semantic' THEN coalesce(c.ttl_s, %(d_ttl_s)s)
                  ELSE coalesce(c.ttl_p, %(d_ttl_p)s) END) <= now() AS ttl_hit
    FROM memories m LEFT JOIN cfg c ON c.namespace = m.namespace
    WHERE m.id = ANY(%(ids)s) AND {active("m")}
)
UPDATE memories m
SET importance = CASE WHEN calc.decays THEN calc.imp ELSE m.importance END,
    status = CASE WHEN calc.ttl_hit OR (calc.decays AND calc.imp < calc.floor) THEN '{MemoryStatus.EXPIRED}' ELSE m.status END
FROM calc
WHERE m.id = calc.id
  AND (calc.ttl_hit OR (calc.decays AND (abs(calc.old - calc.imp) > 0.005 OR calc.imp < calc.floor)))
RETURNING m.id, m.namespace, m.session_id, m.status = '{MemoryStatus.EXPIRED}' AS expired, calc.ttl_hit
"""


def running(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """The newest unfinished run (id, cursor_id), if any: the next run resumes it."""
    return conn.execute(
        f"SELECT id, cursor_id FROM decay_runs WHERE status = '{JobStatus.RUNNING}' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()


def start(conn: psycopg.Connection[Any], run_id: UUID) -> None:
    conn.execute("INSERT INTO decay_runs (id) VALUES (%s)", (run_id,))


def active_ids_after(conn: psycopg.Connection[Any], cursor: UUID, limit: int) -> list[UUID]:
    """The next batch of active memory ids, in id order after ``cursor``."""
    rows = conn.execute(
        f"SELECT id FROM memories WHERE {active()} AND id > %s ORDER BY id LIMIT %s", (cursor, limit)
    ).fetchall()
    return [r["id"] for r in rows]


def decay_batch(
    conn: psycopg.Connection[Any], params: dict[str, Any], ids: list[UUID]
) -> list[dict[str, Any]]:
    """Apply decay and expiry to ``ids``; the changed rows (id, namespace, session_id, expired, ttl_hit)."""
    return conn.execute(_UPDATE, {**params, "ids": ids}).fetchall()


def advance(
    conn: psycopg.Connection[Any], run_id: UUID, cursor: UUID, scanned: int, decayed: int, expired: int
) -> None:
    conn.execute(
        "UPDATE decay_runs SET cursor_id = %s, scanned = scanned + %s, decayed = decayed + %s,"
        " expired = expired + %s WHERE id = %s",
        (cursor, scanned, decayed, expired, run_id),
    )


def finish(conn: psycopg.Connection[Any], run_id: UUID) -> None:
    conn.execute(
        f"UPDATE decay_runs SET status = '{JobStatus.DONE}', finished_at = now(), cursor_id = NULL,"
        " scanned = scanned + 0 WHERE id = %s",
        (run_id,),
    )
