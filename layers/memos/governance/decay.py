"""Importance decay and TTL expiry: the job's cost is the rows it forgets, not the rows it keeps.

Current importance is computed where it is read (``memos.memory.importance.current``): the base
importance, reinforced by access with diminishing returns, halving every ``decay_half_life_days``
counted from the later of ingestion and the last access. Nothing rewrites it as time passes. Each
memory stores its plan under the namespace's policy (half-life, floor for kinds that decay, the
kind's TTL and what it counts from: ``occurred_at`` or ingestion), and PostgreSQL derives and
indexes ``forget_at`` -- when the importance crosses ``min_importance`` or the TTL runs out,
whichever is first (migration 0007). A decay run selects ``forget_at <= now()`` in batches, one
short transaction each, skipping rows a writer holds; a policy change re-plans that namespace's
rows (``replan``); an access re-derives the row's forget time. Expired memories leave every read
path and are forgotten like deleted ones (``memos.memory.forget``): a tombstone without text stays
for history and audit. A run is idempotent and a rerun or a resumed run gives the same result.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.governance.policy import DEFAULT_POLICY, Policy, merge
from memos.memory import forget, l1_cleanup
from memos.store import audit, db
from memos.store import decay as decay_runs
from memos.store import policies as stored_policies

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

BATCH = 5_000


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


def plan(policy: Policy) -> dict[str, Any]:
    """The decay columns a namespace's rows get under ``policy`` (``store.decay.replan_namespace``)."""
    return {
        "half_life": policy.decay_half_life_days,
        "floor": policy.min_importance,
        "decay_kinds": list(policy.decay_kinds),
        "ttl": policy.ttl_days.model_dump(),
        "from_ingest": policy.ttl_from == "ingested_at",
    }


def replan(conn: psycopg.Connection[Any], namespace: str, policy: Policy) -> int:
    """After a policy change (in its transaction): the namespace's rows follow the new policy."""
    return decay_runs.replan_namespace(conn, namespace, plan(policy))


def run_decay(*, batch_size: int = BATCH, time_budget_s: float = 240.0, actor: str = "decay") -> DecayReport:
    """Expire every memory whose forget time has passed, one short transaction per batch.

    A run that hits its time budget stays open; the next run continues it (same run id).
    """
    start = time.monotonic()
    with db.connection() as conn:
        last = decay_runs.running(conn)
        if last is not None:
            report = DecayReport(run_id=last["id"])
        else:
            report = DecayReport(run_id=uuid.uuid4())
            decay_runs.start(conn, report.run_id)
        params = _policy_arrays(conn)
        conn.commit()

    touched_sessions: set[tuple[str, str]] = set()
    while time.monotonic() - start < time_budget_s:
        with db.connection() as conn:
            handled = decay_runs.expire_due(conn, params, batch_size)
            expired = [r for r in handled if r["expired"]]
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
            report.scanned += len(handled)
            report.expired += len(expired)
            report.decayed += len(handled) - len(expired)  # planned (rows from before 0007), kept
            report.batches += 1 if handled else 0
            decay_runs.advance(conn, report.run_id, len(handled), len(handled) - len(expired), len(expired))
            done = len(handled) < batch_size
            if done:
                decay_runs.finish(conn, report.run_id)
                report.finished = True
            conn.commit()
            touched_sessions.update(by_session)
        if done:
            break
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
