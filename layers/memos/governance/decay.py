"""Importance decay and TTL expiry: set-based SQL in batches, resumable, idempotent.

importance = min(1, base_importance * 2^(-idle_days / half_life) + min(0.3, 0.05 * ln(1 + access_count)))
where idle_days counts from the later of ingestion (created_at) and the last retrieval. The value
is a function of the row and the clock, not of how often the job runs, so a rerun or a resumed run
gives the same result. A memory expires when its kind decays and its importance falls below the
namespace's ``min_importance``, or when its TTL (``expires_at``, or the policy's per-kind TTL) has
passed. Expired memories leave every read path; they stay in the table for history and audit.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from memos.governance.policy import DEFAULT_POLICY, merge
from memos.memory import l1_cleanup
from memos.store import audit, db
from memos.working_memory import WorkingMemory

BATCH = 20_000
_NIL = UUID(int=0)

_UPDATE = """
WITH cfg AS (
    SELECT * FROM unnest(%(ns)s::text[], %(hl)s::float8[], %(floor)s::float8[], %(kinds)s::text[],
                         %(ttl_e)s::int[], %(ttl_s)s::int[], %(ttl_p)s::int[])
        AS c(namespace, half_life, floor, kinds, ttl_e, ttl_s, ttl_p)
),
calc AS (
    SELECT m.id, m.namespace, m.session_id, m.importance AS old,
           LEAST(1.0, m.base_importance * power(2.0, -extract(epoch FROM now() - GREATEST(m.created_at,
                 coalesce(m.last_accessed_at, m.created_at))) / 86400.0 / coalesce(c.half_life, %(d_hl)s))
                 + LEAST(0.3, 0.05 * ln(1 + m.access_count))) AS imp,
           position(m.kind IN coalesce(c.kinds, %(d_kinds)s)) > 0 AS decays,
           coalesce(c.floor, %(d_floor)s) AS floor,
           (m.expires_at IS NOT NULL AND m.expires_at <= now())
             OR m.created_at + make_interval(days => CASE m.kind
                  WHEN 'episodic' THEN coalesce(c.ttl_e, %(d_ttl_e)s)
                  WHEN 'semantic' THEN coalesce(c.ttl_s, %(d_ttl_s)s)
                  ELSE coalesce(c.ttl_p, %(d_ttl_p)s) END) <= now() AS ttl_hit
    FROM memories m LEFT JOIN cfg c ON c.namespace = m.namespace
    WHERE m.id = ANY(%(ids)s) AND m.status = 'active'
)
UPDATE memories m
SET importance = CASE WHEN calc.decays THEN calc.imp ELSE m.importance END,
    status = CASE WHEN calc.ttl_hit OR (calc.decays AND calc.imp < calc.floor) THEN 'expired' ELSE m.status END
FROM calc
WHERE m.id = calc.id
  AND (calc.ttl_hit OR (calc.decays AND (abs(calc.old - calc.imp) > 0.005 OR calc.imp < calc.floor)))
RETURNING m.id, m.namespace, m.session_id, m.status = 'expired' AS expired, calc.ttl_hit
"""


@dataclass
class DecayReport:
    run_id: UUID
    scanned: int = 0
    decayed: int = 0
    expired: int = 0
    batches: int = 0
    seconds: float = 0.0
    finished: bool = False
    l1_cleanups_pending: int = 0  # windows of deleted sessions Redis has not confirmed dropping


def _policy_arrays(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Each namespace with stored overrides, as parallel arrays; the defaults for the rest."""
    rows = conn.execute("SELECT namespace, settings FROM policies").fetchall()
    policies = [(r["namespace"], merge(r["settings"])) for r in rows]
    d = DEFAULT_POLICY
    return {
        "ns": [n for n, _ in policies],
        "hl": [p.decay_half_life_days for _, p in policies],
        "floor": [p.min_importance for _, p in policies],
        "kinds": [",".join(p.decay_kinds) for _, p in policies],
        "ttl_e": [p.ttl_days.episodic for _, p in policies],
        "ttl_s": [p.ttl_days.semantic for _, p in policies],
        "ttl_p": [p.ttl_days.procedural for _, p in policies],
        "d_hl": d.decay_half_life_days,
        "d_floor": d.min_importance,
        "d_kinds": ",".join(d.decay_kinds),
        "d_ttl_e": d.ttl_days.episodic,
        "d_ttl_s": d.ttl_days.semantic,
        "d_ttl_p": d.ttl_days.procedural,
    }


def run_decay(*, batch_size: int = BATCH, time_budget_s: float = 240.0, actor: str = "decay") -> DecayReport:
    """One pass over every active memory, one short transaction per batch (no long locks).

    A run that hits its time budget records its cursor; the next run resumes from there.
    """
    start = time.monotonic()
    with db.connection() as conn:
        last = conn.execute(
            "SELECT id, cursor_id FROM decay_runs WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        if last is not None:
            report, cursor = DecayReport(run_id=last["id"]), last["cursor_id"] or _NIL
        else:
            report, cursor = DecayReport(run_id=uuid.uuid4()), _NIL
            conn.execute("INSERT INTO decay_runs (id) VALUES (%s)", (report.run_id,))
        params = _policy_arrays(conn)
        conn.commit()

    touched_sessions: set[tuple[str, str]] = set()
    while time.monotonic() - start < time_budget_s:
        with db.connection() as conn:
            ids = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM memories WHERE status = 'active' AND id > %s ORDER BY id LIMIT %s",
                    (cursor, batch_size),
                ).fetchall()
            ]
            if not ids:
                conn.execute(
                    "UPDATE decay_runs SET status = 'done', finished_at = now(), cursor_id = NULL,"
                    " scanned = scanned + 0 WHERE id = %s",
                    (report.run_id,),
                )
                conn.commit()
                report.finished = True
                break
            changed = conn.execute(_UPDATE, {**params, "ids": ids}).fetchall()
            expired = [r for r in changed if r["expired"]]
            by_session: dict[tuple[str, str], list[str]] = defaultdict(list)
            for r in expired:
                by_session[(r["namespace"], r["session_id"])].append(str(r["id"]))
            audit.record_many(
                conn,
                [
                    (
                        "expire",
                        ns,
                        sid,
                        None,
                        {"memory_ids": mids, "count": len(mids), "run_id": str(report.run_id)},
                    )
                    for (ns, sid), mids in by_session.items()
                ],
                actor,
                None,
            )
            cursor = ids[-1]
            report.scanned += len(ids)
            report.expired += len(expired)
            report.decayed += len(changed) - len(expired)
            report.batches += 1
            conn.execute(
                "UPDATE decay_runs SET cursor_id = %s, scanned = scanned + %s, decayed = decayed + %s,"
                " expired = expired + %s WHERE id = %s",
                (cursor, len(ids), len(changed) - len(expired), len(expired), report.run_id),
            )
            conn.commit()
            touched_sessions.update(by_session)

    report.seconds = round(time.monotonic() - start, 3)
    with db.connection() as conn:
        audit.record(
            conn,
            "decay",
            actor=actor,
            details={
                "run_id": str(report.run_id),
                "scanned": report.scanned,
                "decayed": report.decayed,
                "expired": report.expired,
                "finished": report.finished,
                "seconds": report.seconds,
            },
        )
        conn.commit()
    l1 = WorkingMemory()
    for ns, sid in touched_sessions:  # expired turns must leave the session windows too
        l1.invalidate(ns, sid)
    report.l1_cleanups_pending = l1_cleanup.drain()
    return report
