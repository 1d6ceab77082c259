"""``/v1/ops/decay``: a namespace's live memories by age and current importance, each with how soon
decay or its TTL will forget it, and why. Forgotten memories are counts only.

Current importance is ``memos.memory.importance.current`` (what decay and scoring use) at request
time, so the map shows where each memory stands now, not where the last decay pass left it.
The layout covers the newest ``SCAN_LIMIT`` live memories (``truncated`` says when there are more).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from memos.governance import policy_store
from memos.governance.policy import Policy
from memos.kernel.errors import Unprocessable
from memos.memory.importance import current, forget_after_days, reinforced
from memos.models import ops as models
from memos.store import db
from memos.store import memory_maps as store

SCAN_LIMIT = 20_000
NEAR_DAYS, FADING_DAYS = 7.0, 30.0
# Age columns (days): an hour, a day, a week, a month, a quarter, half a year, a year, older.
AGE_EDGES = [0.0, 1 / 24, 1.0, 7.0, 30.0, 90.0, 180.0, 365.0]
AGE_LABELS = ["< 1 h", "1 h – 1 d", "1 – 7 d", "7 – 30 d", "30 – 90 d", "90 – 180 d", "180 – 365 d", "> 1 y"]
IMPORTANCE_ROWS = 10  # 0.0–0.1 … 0.9–1.0


@dataclass(frozen=True)
class Weighed:
    row: dict[str, Any]
    importance: float
    age_days: float
    forget_in_days: float | None
    forget_by: str | None
    why: str

    @property
    def age_bucket(self) -> int:
        return max(i for i, edge in enumerate(AGE_EDGES) if self.age_days >= edge)

    @property
    def importance_bucket(self) -> int:
        return min(IMPORTANCE_ROWS - 1, int(self.importance * IMPORTANCE_ROWS))


def state(forget_in_days: float | None) -> str:
    if forget_in_days is None:
        return "kept"
    if forget_in_days <= NEAR_DAYS:
        return "near"
    return "fading" if forget_in_days <= FADING_DAYS else "safe"


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86_400.0


def weigh(row: dict[str, Any], policy: Policy, now: datetime) -> Weighed:
    """Where one live memory stands: importance now, age, when and why it will be forgotten."""
    idle_since = max(row["created_at"], row["last_accessed_at"] or row["created_at"])
    idle_days = _days(now - idle_since)
    decays = row["kind"] in policy.decay_kinds
    hl = policy.decay_half_life_days
    if decays:
        base, uses = row["base_importance"], row["access_count"]
        imp = current(base, idle_since, uses, hl, now)
        after = forget_after_days(base, uses, hl, policy.min_importance)
        by_decay = None if after is None else max(0.0, after - idle_days)
        why = (
            f"{row['kind']} decays: half-life {hl:g} d, idle {idle_days:.1f} d, base {base:.2f}"
            + (f" (reinforced to {reinforced(base, uses):.2f} for {uses} retrievals)" if uses else "")
            + f" → {imp:.2f} now"
            + (
                f"; below {policy.min_importance:g} in {by_decay:.0f} d"
                if by_decay is not None
                else "; no floor"
            )
        )
    else:
        imp, by_decay = float(row["importance"]), None
        why = f"{row['kind']} does not decay (decay_kinds: {', '.join(policy.decay_kinds) or 'none'})"
    start = row["created_at"] if policy.ttl_from == "ingested_at" else row["occurred_at"]
    ttl = getattr(policy.ttl_days, row["kind"], None)
    ttl_ends = [t for t in (start + timedelta(days=ttl) if ttl else None, row["expires_at"]) if t is not None]
    by_ttl = max(0.0, _days(min(ttl_ends) - now)) if ttl_ends else None
    if by_ttl is not None:
        source = f"TTL {ttl} d from {policy.ttl_from}" if ttl else "its expires_at"
        why += f"; {source}: expires in {by_ttl:.0f} d"
    else:
        why += "; no TTL"
    soonest = min((d for d in (by_decay, by_ttl) if d is not None), default=None)
    forget_by = None if soonest is None else ("decay" if soonest == by_decay else "ttl")
    return Weighed(row, imp, max(0.0, _days(now - start)), soonest, forget_by, why)


def _buckets() -> tuple[list[models.OpsDecayBucket], list[models.OpsDecayBucket]]:
    ages = [
        models.OpsDecayBucket(
            index=i, label=AGE_LABELS[i], low=edge, high=AGE_EDGES[i + 1] if i + 1 < len(AGE_EDGES) else None
        )
        for i, edge in enumerate(AGE_EDGES)
    ]
    rows = [
        models.OpsDecayBucket(
            index=i,
            label=f"{i / IMPORTANCE_ROWS:.1f}–{(i + 1) / IMPORTANCE_ROWS:.1f}",
            low=i / 10,
            high=(i + 1) / 10,
        )
        for i in range(IMPORTANCE_ROWS)
    ]
    return ages, rows


def _scan(namespace: str, session_id: str | None) -> tuple[Policy, list[Weighed], dict[str, int], datetime]:
    policy = policy_store.get_policy(namespace)
    with db.connection() as conn:
        rows = store.decay_rows(conn, namespace, session_id, SCAN_LIMIT)
        counts = store.status_counts(conn, namespace, session_id)
        conn.rollback()
    now = datetime.now(UTC)
    return policy, [weigh(r, policy, now) for r in rows], counts, now


def decay_map(namespace: str, session_id: str | None) -> models.OpsDecayMap:
    policy, weighed, counts, now = _scan(namespace, session_id)
    cells: dict[tuple[int, int], list[Weighed]] = defaultdict(list)
    for w in weighed:
        cells[(w.age_bucket, w.importance_bucket)].append(w)
    ages, rows = _buckets()
    out = []
    for (a, i), members in sorted(cells.items()):
        soonest = min((m.forget_in_days for m in members if m.forget_in_days is not None), default=None)
        out.append(
            models.OpsDecayCell(
                age_bucket=a,
                importance_bucket=i,
                count=len(members),
                soonest_forget_days=None if soonest is None else round(soonest, 2),
                state=state(soonest),
            )
        )
    return models.OpsDecayMap(
        namespace=namespace,
        session_id=session_id,
        generated_at=now,
        policy=models.OpsDecayPolicy(
            half_life_days=policy.decay_half_life_days,
            min_importance=policy.min_importance,
            decay_kinds=list(policy.decay_kinds),
            ttl_days=policy.ttl_days.model_dump(),
            ttl_from=policy.ttl_from,
        ),
        age_buckets=ages,
        importance_buckets=rows,
        cells=out,
        live=counts["live"],
        scanned=len(weighed),
        truncated=counts["live"] > len(weighed),
        kept_for_history={"duplicate": counts["duplicate"], "superseded": counts["superseded"]},
        forgotten=models.OpsForgottenCounts(expired=counts["expired"], deleted=counts["deleted"]),
    )


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise Unprocessable("invalid cursor", details=[{"field": "cursor", "message": "use next_cursor"}])
    return int(cursor)


def decay_memories(
    namespace: str,
    session_id: str | None,
    age_bucket: int | None,
    importance_bucket: int | None,
    cursor: str | None,
    limit: int,
) -> models.OpsDecayMemoryPage:
    """One cell's (or one row's, or one column's) memories, soonest forgotten first, paged."""
    start = _offset(cursor)
    _, weighed, _, _ = _scan(namespace, session_id)
    chosen = [
        w
        for w in weighed
        if (age_bucket is None or w.age_bucket == age_bucket)
        and (importance_bucket is None or w.importance_bucket == importance_bucket)
    ]
    chosen.sort(
        key=lambda w: (w.forget_in_days is None, w.forget_in_days or 0.0, -w.importance, str(w.row["id"]))
    )
    page = chosen[start : start + limit]
    return models.OpsDecayMemoryPage(
        age_bucket=age_bucket,
        importance_bucket=importance_bucket,
        memories=[
            models.OpsDecayMemory(
                memory_id=w.row["id"],
                session_id=w.row["session_id"],
                kind=w.row["kind"],
                role=w.row["role"],
                text=w.row["text"],
                base_importance=round(w.row["base_importance"], 4),
                stored_importance=round(w.row["importance"], 4),
                importance=round(w.importance, 4),
                access_count=w.row["access_count"],
                idle_since=max(w.row["created_at"], w.row["last_accessed_at"] or w.row["created_at"]),
                occurred_at=w.row["occurred_at"],
                age_days=round(w.age_days, 3),
                forget_in_days=None if w.forget_in_days is None else round(w.forget_in_days, 2),
                forget_by=w.forget_by,
                why=w.why,
            )
            for w in page
        ],
        next_cursor=str(start + limit) if start + limit < len(chosen) else None,
    )
