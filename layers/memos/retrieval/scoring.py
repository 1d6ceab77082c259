"""Scoring: each candidate's explained components and its weighted score (pure; no database).

  score = Σ_c w_c · c / Σ_c w_c      over the components that apply (weights: namespace policy)

vector      cosine similarity, min-max scaled over the candidates (best = 1, worst = 0): embedders
            differ in scale (static vectors of unrelated texts still score ~0.8)
lexical     Okapi BM25 with the namespace's own term statistics, relative to the best candidate's
recency     2^(-(newest event time among candidates - this one's) / recency_half_life)
importance  the memory's current importance (ingest signals, access, decay)
entity      share of the query's known entities (L3) this memory is evidence for
session     1 for the asking session's memories (applies when the query names a session)
temporal    1 inside the time range the question names ("in May 2023", "last week"), decaying
            with distance outside it (applies only when the question names a time)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from memos.governance.policy import Policy
from memos.kernel.text import STOPWORDS, content_terms, stem, words
from memos.models import FilteredCandidate, Layer, QueryRequest
from memos.retrieval import lexical
from memos.retrieval.timeexpr import TimeRange

UBIQUITOUS = 0.3  # words in more than this share of a namespace's memories do not select candidates
LEXICAL_TERMS = 4  # the rarest query words that select full-text candidates


@dataclass
class Candidate:
    row: dict[str, Any]
    layer: Layer = "L2"
    components: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def id(self) -> UUID:
        return self.row["id"]


def tsquery_text(query: str, stats: lexical.Stats | None = None) -> str:
    """OR of the query's rarest content words (recall first; BM25 ranks afterwards).

    Words in more than UBIQUITOUS of the namespace select nothing useful, and only the
    LEXICAL_TERMS rarest words select candidates: in a large namespace every extra common word
    multiplies the rows PostgreSQL must rank before its LIMIT (docs/BENCHMARKS.md).
    """
    terms = list(dict.fromkeys(w for w in words(query) if w.isascii() and w.isalnum() and w not in STOPWORDS))
    if stats is not None and stats.docs >= 20:
        terms = [w for w in terms if stats.df.get(stem(w), 0) / stats.docs <= UBIQUITOUS]
        terms = sorted(terms, key=lambda w: stats.df.get(stem(w), 0))[:LEXICAL_TERMS]
    return " | ".join(terms)


def score_candidates(
    cands: list[Candidate],
    req: QueryRequest,
    policy: Policy,
    stats: lexical.Stats,
    when: TimeRange | None,
    entity_overlap: dict[UUID, float],
) -> None:
    w = policy.weights.model_dump()
    if not req.session_id:
        w.pop("session")
    if when is None:
        w.pop("temporal")
    total_w = sum(w.values()) or 1.0
    qterms = content_terms(req.query)
    bm = {
        c.id: lexical.bm25(
            qterms, content_terms(lexical.indexed_text(c.row["text"], c.row["metadata"])), stats
        )
        for c in cands
    }
    best_bm = max(bm.values(), default=0.0) or 1.0
    sims = [float(c.row["vsim"]) for c in cands]
    low_v, best_v = (min(sims), max(sims)) if sims else (0.0, 1.0)
    span_v = best_v - low_v if best_v > low_v else 1.0
    newest = max((c.row["occurred_at"] for c in cands), default=None)
    half_life_s = policy.recency_half_life_days * 86_400
    width = max(1.0, (when.end - when.start).total_seconds() / 86_400) if when else 1.0
    for c in cands:
        comp = {
            "vector": (float(c.row["vsim"]) - low_v) / span_v if len(cands) > 1 else 1.0,
            "lexical": bm[c.id] / best_bm,
            "recency": math.pow(2.0, -(newest - c.row["occurred_at"]).total_seconds() / half_life_s)
            if newest
            else 0.0,
            "importance": float(c.row["importance"]),
            "entity": entity_overlap.get(c.id, 0.0),
        }
        if "session" in w:
            comp["session"] = 1.0 if c.row["session_id"] == req.session_id else 0.0
        if when is not None:
            comp["temporal"] = math.pow(2.0, -when.distance_days(c.row["occurred_at"]) / width)
        c.components = {k: round(v, 4) for k, v in comp.items()}
        c.score = round(sum(w[k] * v for k, v in comp.items()) / total_w, 4)


def cut(
    ranked: list[Candidate], min_score: float, top_k: int
) -> tuple[list[Candidate], list[FilteredCandidate]]:
    """The best ``top_k`` at or above ``min_score`` (in rank order), and why each other one is out."""
    kept: list[Candidate] = []
    filtered: list[FilteredCandidate] = []
    for c in ranked:
        if c.score < min_score:
            filtered.append(FilteredCandidate(memory_id=c.id, reason="below_threshold"))
        elif len(kept) >= top_k:
            filtered.append(FilteredCandidate(memory_id=c.id, reason="not_in_top_k"))
        else:
            kept.append(c)
    return kept, filtered
