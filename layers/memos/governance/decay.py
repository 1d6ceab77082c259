"""Importance decay and TTL expiry: set-based SQL in batches, resumable, idempotent.

importance = min(1, base_importance * 2^(-idle_days / half_life) + min(0.3, 0.05 * ln(1 + access_count)))
where idle_days counts from the later of ingestion (created_at) and the last retrieval. The value
is a function of the row and the clock, not of how often the job runs, so a rerun or a resumed run
gives the same result. A memory expires when its kind decays and its importance falls below the
namespace's ``min_importance``, or when its TTL (``expires_at``, or the policy's per-kind TTL) has
passed; the TTL counts from ``occurred_at`` (or ingestion, with the policy's ``ttl_from``). Expired
memories leave every read path and are forgotten like deleted ones (``memos.memory.forget``): a
tombstone without text stays for history and audit.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.governance.policy import DEFAULT_POLICY, merge
from memos.memory import forget, l1_cleanup
from memos.store import audit, db
from memos.store import decay as decay_runs
from memos.store import policies as stored_policies

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

BATCH = 20_000
_NIL = UUID(int=0)


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
    rows = stored_policies.all_stored(conn)
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
        "ttl_from": [p.ttl_from for _, p in policies],
        "d_hl": d.decay_half_life_days,
        "d_floor": d.min_importance,
        "d_kinds": ",".join(d.decay_kinds),
        "d_ttl_e": d.ttl_days.episodic,
        "d_ttl_s": d.ttl_days.semantic,
        "d_ttl_p": d.ttl_days.procedural,
        "d_ttl_from": d.ttl_from,
    }


def run_decay(*, batch_size: int = BATCH, time_budget_s: float = 240.0, actor: str = "decay") -> DecayReport:
    """One pass over every active memory, one short transaction per batch (no long locks).

    A run that hits its time budget records its cursor; the next run resumes from there.
    """
    start = time.monotonic()
    with db.connection() as conn:
        last = decay_runs.running(conn)
        if last is not None:
            report, cursor = DecayReport(run_id=last["id"]), last["cursor_id"] or _NIL
        else:
            report, cursor = DecayReport(run_id=uuid.uuid4()), _NIL
            decay_runs.start(conn, report.run_id)
        params = _policy_arrays(conn)
        conn.commit()

    touched_sessions: set[tuple[str, str]] = set()
    while time.monotonic() - start < time_budget_s:
        with db.connection() as conn:
            ids = decay_runs.active_ids_after(conn, cursor, batch_size)
            if not ids:
                decay_runs.finish(conn, report.run_id)
                conn.commit()
                report.finished = True
                break
            changed = decay_runs.decay_batch(conn, params, ids)
            expired = [r for r in changed if r["expired"]]
            forget.forget_memories(conn, [r["id"] for r in expired], status=None, by=actor)
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
            decay_runs.advance(
                conn, report.run_id, cursor, len(ids), len(changed) - len(expired), len(expired)
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
    forget.flush_l1(touched_sessions)  # expired turns leave the session windows too
    report.l1_cleanups_pending = l1_cleanup.drain()  # and windows an earlier forget could not reach
    return report
