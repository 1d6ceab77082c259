"""Decay runs: finding and expiring the memories whose ``forget_at`` has passed, planning rows
from before migration 0007, re-planning a namespace when its policy changes, and the run's record.

``forget_at`` is a generated column (migration 0007: ``memos_forget_at``) over what a row stores
and what does not change with time (base importance, access count, last access, the decay policy
it is under), so nothing here rewrites rows that are not due. Each function runs in the caller's
transaction (one short transaction per batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.status import JobStatus, MemoryStatus, active

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# Per-namespace policy as parallel arrays (namespaces with stored overrides), the defaults for the rest.
_CFG = """
cfg AS (
    SELECT * FROM unnest(%(ns)s::text[], %(hl)s::float8[], %(floor)s::float8[], %(kinds)s::text[],
                         %(ttl_e)s::int[], %(ttl_s)s::int[], %(ttl_p)s::int[], %(ttl_from)s::text[])
        AS c(namespace, half_life, floor, kinds, ttl_e, ttl_s, ttl_p, ttl_from)
)"""

# The plan a row gets under its namespace's policy (the per-row decay columns).
_PLAN = """
    coalesce(c.half_life, %(d_hl)s)::real AS hl,
    CASE WHEN position(m.kind IN coalesce(c.kinds, %(d_kinds)s)) > 0
         THEN coalesce(c.floor, %(d_floor)s)::real END AS floor,
    CASE m.kind WHEN 'episodic' THEN coalesce(c.ttl_e, %(d_ttl_e)s)
                WHEN 'semantic' THEN coalesce(c.ttl_s, %(d_ttl_s)s)
                ELSE coalesce(c.ttl_p, %(d_ttl_p)s) END AS ttl,
    coalesce(c.ttl_from, %(d_ttl_from)s) = 'ingested_at' AS from_ingest"""

# Lock the next due rows (skipping rows a writer holds), plan them under the current policy, and
# expire those whose forget time, with that plan, has passed. A row that is due only because it
# was never planned (forget_at = the epoch) gets its plan and stays.
_EXPIRE_DUE = f"""
WITH {_CFG},
due AS (
    SELECT id FROM memories WHERE {active()} AND forget_at <= now()
    ORDER BY forget_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
),
calc AS (
    SELECT m.id, p.hl, p.floor, p.ttl, p.from_ingest,
           memos_forget_at(m.base_importance, m.access_count, m.created_at, m.last_accessed_at,
                           m.occurred_at, m.expires_at, p.hl, p.floor, p.ttl, p.from_ingest) <= now() AS gone,
           m.expires_at <= now() OR (p.ttl IS NOT NULL AND CASE WHEN p.from_ingest THEN m.created_at
               ELSE m.occurred_at END + make_interval(days => p.ttl) <= now()) AS ttl_hit
    FROM due JOIN memories m ON m.id = due.id LEFT JOIN cfg c ON c.namespace = m.namespace
    CROSS JOIN LATERAL (SELECT {_PLAN}) AS p
)
UPDATE memories m
SET decay_half_life = calc.hl, decay_floor = calc.floor, ttl_days = calc.ttl,
    ttl_from_ingest = calc.from_ingest,
    status = CASE WHEN calc.gone THEN '{MemoryStatus.EXPIRED}' ELSE m.status END
FROM calc
WHERE m.id = calc.id
RETURNING m.id, m.namespace, m.session_id, calc.gone AS expired, coalesce(calc.ttl_hit, false) AS ttl_hit
"""


def expire_due(conn: psycopg.Connection[Any], params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Plan and, when due, expire the next ``limit`` rows whose ``forget_at`` has passed; the rows
    handled (id, namespace, session_id, expired, ttl_hit). Fewer than ``limit``: none left."""
    return conn.execute(_EXPIRE_DUE, {**params, "limit": limit}).fetchall()


def replan_namespace(conn: psycopg.Connection[Any], namespace: str, plan: dict[str, Any]) -> int:
    """Put a namespace's active rows under its (changed) policy; their ``forget_at`` follows.

    ``plan``: half_life (days), floor, decay_kinds (list), ttl (kind → days or None), from_ingest."""
    cur = conn.execute(
        "UPDATE memories SET decay_half_life = %(hl)s, ttl_from_ingest = %(from_ingest)s,"
        " decay_floor = CASE WHEN kind = ANY(%(kinds)s) THEN %(floor)s::real END,"
        " ttl_days = CASE kind WHEN 'episodic' THEN %(ttl_e)s::int WHEN 'semantic' THEN %(ttl_s)s::int"
        " ELSE %(ttl_p)s::int END"
        f" WHERE namespace = %(namespace)s AND {active()}",
        {
            "namespace": namespace,
            "hl": plan["half_life"],
            "from_ingest": plan["from_ingest"],
            "kinds": list(plan["decay_kinds"]),
            "floor": plan["floor"],
            "ttl_e": plan["ttl"].get("episodic"),
            "ttl_s": plan["ttl"].get("semantic"),
            "ttl_p": plan["ttl"].get("procedural"),
        },
    )
    return cur.rowcount


def due_count(conn: psycopg.Connection[Any]) -> int:
    """Active memories whose forget time has passed (what the next decay run will handle)."""
    row = conn.execute(
        f"SELECT count(*) AS n FROM memories WHERE {active()} AND forget_at <= now()"
    ).fetchone()
    return int(row["n"]) if row else 0


def running(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """The newest unfinished run (id), if any: the next run continues it."""
    return conn.execute(
        f"SELECT id, cursor_id FROM decay_runs WHERE status = '{JobStatus.RUNNING}' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()


def start(conn: psycopg.Connection[Any], run_id: UUID) -> None:
    conn.execute("INSERT INTO decay_runs (id) VALUES (%s)", (run_id,))


def advance(conn: psycopg.Connection[Any], run_id: UUID, scanned: int, decayed: int, expired: int) -> None:
    conn.execute(
        "UPDATE decay_runs SET scanned = scanned + %s, decayed = decayed + %s,"
        " expired = expired + %s WHERE id = %s",
        (scanned, decayed, expired, run_id),
    )


def finish(conn: psycopg.Connection[Any], run_id: UUID) -> None:
    conn.execute(
        f"UPDATE decay_runs SET status = '{JobStatus.DONE}', finished_at = now(), cursor_id = NULL WHERE id = %s",
        (run_id,),
    )
