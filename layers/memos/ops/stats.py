"""``/v1/ops/stats``: memories by kind and status, L1/L2/L3 counts, token savings, health, throughput."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from memos.kernel.errors import MemosError
from memos.models import DependencyStatus
from memos.models.ops import (
    OpsL1Counts,
    OpsL2Counts,
    OpsL3Counts,
    OpsLayerCounts,
    OpsMemoryCounts,
    OpsStats,
    OpsThroughputPoint,
    OpsTokenFigures,
    OpsTokenSavings,
)
from memos.ops.health import probe
from memos.ops.pipeline import queue_status
from memos.ops.visible import Visible
from memos.store import db
from memos.store import ops as store
from memos.store.status import MemoryStatus
from memos.working_memory import WorkingMemory, redis_error

KINDS = ("episodic", "semantic", "procedural")
STATUSES = tuple(s.value for s in MemoryStatus)
THROUGHPUT_MINUTES = 60


def figures(count: int, tokens_in: int, tokens_out: int) -> OpsTokenFigures:
    """Tokens in vs out; ratios are null when there is nothing to divide."""
    saved = tokens_in - tokens_out
    return OpsTokenFigures(
        count=count,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        saved=saved,
        savings_ratio=round(saved / tokens_in, 4) if tokens_in else None,
        compression_ratio=round(tokens_in / tokens_out, 4) if tokens_out else None,
    )


def memory_counts(rows: list[dict[str, Any]]) -> OpsMemoryCounts:
    """Totals from (kind, state, n) rows: live by kind, every row by status."""
    by_kind = dict.fromkeys(KINDS, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for r in rows:
        by_status[r["state"]] = by_status.get(r["state"], 0) + r["n"]
        if r["state"] == MemoryStatus.ACTIVE:
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["n"]
    return OpsMemoryCounts(total=sum(by_kind.values()), by_kind=by_kind, by_status=by_status)


def token_savings(packs: dict[str, Any], summaries: dict[str, Any]) -> OpsTokenSavings:
    """Context packs, condensations and both, from their (n, tin, tout) sums."""
    a = figures(int(packs["n"]), int(packs["tin"]), int(packs["tout"]))
    b = figures(int(summaries["n"]), int(summaries["tin"]), int(summaries["tout"]))
    return OpsTokenSavings(
        context_packs=a,
        condensations=b,
        combined=figures(a.count + b.count, a.tokens_in + b.tokens_in, a.tokens_out + b.tokens_out),
    )


def _active_sessions(visible: Visible) -> int | None:
    try:
        return WorkingMemory().active_sessions(visible.contains)
    except (redis_error(), MemosError):
        return None  # the L1 health entry says why


def _layer_health() -> dict[str, DependencyStatus]:
    def table(name: str) -> Callable[[], None]:
        return lambda: store.check_table(name)

    return {
        "L1": probe(lambda: WorkingMemory().client.ping()),
        "L2": probe(table("memories")),
        "L3": probe(table("entities")),
    }


def stats(visible: Visible) -> OpsStats:
    scope = visible.scope
    with db.connection() as conn:
        memories = memory_counts(store.memory_states(conn, scope))
        tokens = token_savings(store.context_pack_tokens(conn, scope), store.condensation_tokens(conn, scope))
        l3 = store.l3_counts(conn, scope)
        throughput = store.throughput(conn, scope, THROUGHPUT_MINUTES)
        conn.rollback()
    active = _active_sessions(visible)
    return OpsStats(
        namespace=visible.namespace,
        generated_at=datetime.now(UTC),
        memories=memories,
        layers=OpsLayerCounts(
            L1=OpsL1Counts(active_sessions=active),
            L2=OpsL2Counts(memories=memories.total, by_kind=memories.by_kind),
            L3=OpsL3Counts(entities=l3["entities"], relations=l3["relations"]),
        ),
        active_contexts=active,
        tokens=tokens,
        health=_layer_health(),
        queue_depth=queue_status(visible).depth,
        throughput=[
            OpsThroughputPoint(minute=r["minute"], ingested=r["ingested"], queries=r["queries"])
            for r in throughput
        ],
    )
