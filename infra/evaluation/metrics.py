"""Retrieval metrics (pure functions). See docs/EVALUATION.md for definitions.

A ranked result list is a sequence of positions; each position holds the turn id(s) it stands for
(one memory can stand for several identical turns that the store deduplicated). A position may be
a single id (str) or a collection of ids.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

Ranked = Sequence[str | Collection[str]]


def _ids(position: str | Collection[str]) -> set[str]:
    return {position} if isinstance(position, str) else set(position)


def recall_at_k(ranked: Ranked, evidence: Collection[str], k: int) -> float | None:
    """Share of the evidence turns found in the top k; None when the question has no evidence."""
    gold = set(evidence)
    if not gold:
        return None
    found: set[str] = set()
    for position in ranked[:k]:
        found |= _ids(position) & gold
    return len(found) / len(gold)


def hit_at_k(ranked: Ranked, evidence: Collection[str], k: int) -> float | None:
    """1.0 when any evidence turn is in the top k, else 0.0; None without evidence."""
    gold = set(evidence)
    if not gold:
        return None
    return 1.0 if any(_ids(p) & gold for p in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Ranked, evidence: Collection[str]) -> float | None:
    """1 / rank of the first position holding an evidence turn; 0.0 if none does; None without evidence."""
    gold = set(evidence)
    if not gold:
        return None
    for rank, position in enumerate(ranked, 1):
        if _ids(position) & gold:
            return 1.0 / rank
    return 0.0


def token_savings(context_tokens: int, conversation_tokens: int) -> float | None:
    """1 - context tokens / conversation tokens (negative if the context is larger); None if empty."""
    if conversation_tokens <= 0:
        return None
    return 1.0 - context_tokens / conversation_tokens


def pollution(result_namespaces: Iterable[str | None], expected: str) -> tuple[int, int]:
    """(results from another namespace, results); an unknown namespace (None) counts as foreign."""
    total = foreign = 0
    for ns in result_namespaces:
        total += 1
        if ns != expected:
            foreign += 1
    return foreign, total


def pollution_rate(result_namespaces: Iterable[str | None], expected: str) -> float:
    """Share of results from another namespace; 0.0 for no results."""
    foreign, total = pollution(result_namespaces, expected)
    return foreign / total if total else 0.0


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Percentile p in [0, 100] with linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be in [0, 100]")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values_ms),
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "mean": mean(values_ms),
        "max": max(values_ms) if values_ms else None,
    }
