"""Importance at ingest (explicit value, else role + kind + content signals, in [0.05, 0.95]) and
now (``current``: the decay formula at a given time)."""

from __future__ import annotations

import math
import re
from datetime import datetime

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


def initial_importance(text: str, role: str, kind: str, explicit: float | None) -> float:
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
    informative = len(content_terms(text))
    if informative <= 2:  # "Same, honestly." says little on its own
        score -= 0.10
    elif informative >= 6:
        score += 0.05
    return round(min(0.95, max(0.05, score)), 3)


def current(base: float, since: datetime, access_count: int, half_life_days: float, now: datetime) -> float:
    """Importance now: ``base`` halved every ``half_life_days`` since ``since`` (the later of ingestion
    and the last retrieval), plus a bonus for retrievals — the decay job's formula
    (``memos.store.decay``): min(1, base * 2^(-age_days / half_life) + min(0.3, 0.05 * ln(1 + access_count)))."""
    age_days = max(0.0, (now - since).total_seconds() / 86_400.0)
    bonus = min(0.3, 0.05 * math.log1p(max(0, access_count)))
    return min(1.0, base * 2.0 ** (-age_days / half_life_days) + bonus)
