"""Importance: at ingest (explicit value, else role + kind + content signals, in [0.05, 0.95]), and
current importance (the stored base reinforced by access with diminishing returns, decaying with
idle time), computed where it is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from memos.kernel.text import content_terms

_KIND = {"episodic": 0.40, "semantic": 0.60, "procedural": 0.65}
_ROLE = {"user": 0.08, "system": 0.05, "agent": 0.0, "assistant": 0.0, "tool": -0.10}
_SIGNALS = re.compile(
    r"\b(prefer|favou?rite|always|never|remember|important|decided|decision|must|deadline|allergic|"
    r"birthday|my name|call me|don't|do not|password|budget|goal|plan|promise)\b|喜欢|不要|记住|决定|必须",
    re.IGNORECASE,
)
# Something happened to the speaker: "I organized a bake sale today", "we adopted a dog".
_EVENT = re.compile(
    r"\b(i|we)\s+(just\s+|finally\s+|recently\s+)?(\w{3,}ed|went|got|made|took|ran|won|saw|met|began|bought|"
    r"gave|wrote|built|found|lost|left|sold|flew|drove|became)\b|\b(today|yesterday|last (week|night|weekend))\b",
    re.IGNORECASE,
)
_FACTY = re.compile(r"\d|\b(i am|i'm|my|we are|our)\b", re.IGNORECASE)
_FILLER = re.compile(
    r"^\W*(ok(ay)?|thanks?( you)?|yes|no|sure|cool|great|got it|hi|hello|bye)\W*$", re.IGNORECASE
)


def initial_importance(
    text: str, role: str, kind: str, explicit: float | None, terms: list[str] | None = None
) -> float:
    """``terms``: the text's content terms, when the caller has them already."""
    if explicit is not None:
        return explicit
    score = _KIND.get(kind, 0.4) + _ROLE.get(role, 0.0)
    if _SIGNALS.search(text):
        score += 0.20
    if _FACTY.search(text):
        score += 0.05
    if _EVENT.search(text):
        score += 0.10
    if _FILLER.match(text):
        score -= 0.25
    informative = len(terms if terms is not None else content_terms(text))
    if informative <= 2:  # "Same, honestly." says little on its own
        score -= 0.10
    elif informative >= 6:
        score += 0.05
    return round(min(0.95, max(0.05, score)), 3)


# Access raises importance with diminishing returns: n accesses close n / (n + ACCESS_HALF) of the
# gap to ACCESS_CEILING (ACCESS_HALF accesses close half of it), so the first few count most and
# no number of queries reaches 1.0. An explicit importance above the ceiling is kept as it is.
ACCESS_HALF = 10.0
ACCESS_CEILING = 0.9


def reinforced(base: float, access_count: int) -> float:
    """Importance right after the last access: ``base`` raised towards ``ACCESS_CEILING`` with
    diminishing returns in ``access_count`` (0 accesses → ``base``)."""
    if access_count <= 0 or base >= ACCESS_CEILING:
        return base
    return base + (ACCESS_CEILING - base) * access_count / (access_count + ACCESS_HALF)


def current(base: float, since: datetime, access_count: int, half_life_days: float, now: datetime) -> float:
    """Current importance: the reinforced value halving every ``half_life_days`` since ``since``
    (the later of ingestion and the last access). A pure function of stored facts and the clock,
    so decay needs no job to rewrite it; ``memos.store.decay`` computes the same in SQL."""
    idle_days = max(0.0, (now - since).total_seconds() / 86_400.0)
    return min(1.0, reinforced(base, access_count) * 2.0 ** (-idle_days / half_life_days))


def forget_after_days(base: float, access_count: int, half_life_days: float, floor: float) -> float | None:
    """Days after ``since`` when ``current`` falls below ``floor`` (None: never, floor ≤ 0)."""
    if floor <= 0:
        return None
    start = min(1.0, reinforced(base, access_count))
    if start < floor:
        return 0.0
    return half_life_days * math.log2(start / floor)


def current_of(row: Mapping[str, Any], now: datetime, default_half_life_days: float = 30.0) -> float:
    """``current`` for a stored memory row (base_importance, access_count, created_at,
    last_accessed_at, kind, decay_half_life, decay_floor): a kind that does not decay
    (``decay_floor`` NULL) keeps its reinforced value; a row not yet planned (half-life NULL, from
    before migration 0007) decays if episodic, with the default half-life."""
    base = float(row["base_importance"])
    count = int(row.get("access_count") or 0)
    half_life = row.get("decay_half_life")
    decays = row.get("decay_floor") is not None if half_life is not None else row.get("kind") == "episodic"
    if not decays:
        return round(min(1.0, reinforced(base, count)), 4)
    last = row.get("last_accessed_at")
    since = max(row["created_at"], last) if last is not None else row["created_at"]
    return round(current(base, since, count, float(half_life or default_half_life_days), now), 4)
