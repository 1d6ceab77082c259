"""Importance at ingest: explicit value, else role + kind + content signals, in [0.05, 0.95]."""

from __future__ import annotations

import re

_KIND = {"episodic": 0.40, "semantic": 0.60, "procedural": 0.65}
_ROLE = {"user": 0.08, "system": 0.05, "agent": 0.0, "assistant": 0.0, "tool": -0.10}
_SIGNALS = re.compile(
    r"\b(prefer|favou?rite|always|never|remember|important|decided|decision|must|deadline|allergic|"
    r"birthday|my name|call me|don't|do not|password|budget|goal|plan|promise)\b|喜欢|不要|记住|决定|必须",
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
    if _FILLER.match(text):
        score -= 0.25
    return round(min(0.95, max(0.05, score)), 3)
