"""Scoring: each candidate's explained components on fixed scales, and its absolute score (pure).

Every component is in [0, 1] and means the same for every query and namespace:

vector      the embedder's cosine through its fixed calibration (``memos.embeddings.calibration``):
            0 at the unrelated pairs' 75th percentile, 1 at the related pairs' 75th percentile
lexical     IDF coverage: Σ idf of the query's terms the memory contains / Σ idf of all the query's
            terms (the namespace's statistics): the share of the question's information it holds;
            a fact's terms include the words questions use for it (``conflicts.key_words``), and
            "what did X do" questions count a turn saying what its speaker did (``EVENT``)
entity      share of the query's known entities (L3) this memory is evidence for
temporal    1 inside the time range the question names ("in May 2023", "last week"), halving per
            range width outside it (applies only when the question names a time)
recency     2^(-(newest event time among candidates - this one's) / recency_half_life)
importance  the memory's current importance as of the query (``memos.memory.importance.current``:
            ingest signals, access with diminishing returns, decay since the last access)
session     1 for the asking session's memories (applies when the query names a session)

The first four say whether a memory is *about* the question (relevance R), the last three which
relevant memory to prefer (prior P), each a weighted mean with the namespace policy's weights:

  mean = Σ_rel w_c·c / Σ_rel w_c      R = (1 − FUSE_MAX)·mean + FUSE_MAX·best
  best = max(vector, lexical) (× temporal when the question names a time)
  P = Σ_prior w_c·c / Σ_prior w_c     p = Σ_prior w / Σ w           score = R · (1 − p + p·P)

The max term keeps a memory that one signal is sure of from being pulled down by the other (a
paraphrase shares no words; a code or name shares no meaning the embedder knows).

So a memory nothing in the question points at scores 0 whatever its importance, and a score is
comparable across queries: ``min_score`` (policy, default 0.1) is the line under which nothing
is returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memos.governance.policy import Policy
from memos.kernel.text import content_terms, content_terms_many, words
from memos.memory import importance
from memos.memory.conflicts import key_words
from memos.models import FilteredCandidate, Layer, QueryRequest
from memos.retrieval import lexical
from memos.retrieval.timeexpr import TimeRange


@dataclass
class Candidate:
    row: dict[str, Any]
    layer: Layer = "L2"
    components: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def id(self) -> UUID:
        return self.row["id"]


_HISTORY = re.compile(
    r"\b(?:used to|before|previous(?:ly)?|formerly|earlier|in the past|ever|over the years|history"
    r"|(?:have|had) (?:i|we|you|he|she|they) (?:\w+ )?(?:lived|had|worked|been|moved|owned|used))\b",
    re.I,
)


def asks_about_history(query: str) -> bool:
    """The question is about earlier values too ("Which cities have I lived in?"), not only the
    current one: replaced facts are candidates then."""
    return bool(_HISTORY.search(query))


# A question asking what someone did, and a turn saying what its speaker did (first person, an
# event in the past: "Today I finished a puzzle!", "Guess what, I competed in a chess tournament").
_ACTIVITY_QUESTION = re.compile(
    r"\bwhat (?:did|does|do|has|have) \w+(?: \w+)? (?:do|done|been doing|been up to|get up to)\b"
    r"|\bhow did \w+(?: \w+)? spend\b",
    re.I,
)
_EVENT = re.compile(
    r"\b(?:i|we)(?:'ve| have)? (?:just |finally |also |actually )?"
    r"(?:\w+ed|went|took|ran|made|got|gave|saw|met|won|built|bought|did|had|wrote|read|tried|began|"
    r"flew|drove|rode|swam|sang|taught|caught|ate|drank|slept|spent|brought|found|left|lost|sold|"
    r"threw|held|led|kept|paid|told|heard|felt|fell|sat|stood|grew|drew|been)\b",
    re.I,
)
_NOT_DONE = re.compile(
    r"\b(?:would|'d|will|'ll|never|almost|someday|one day|wish|hope|want|plan|need|needed)\b", re.I
)
EVENT = "~event"  # the term a turn stating what its speaker did holds, for activity questions


def states_event(text: str) -> bool:
    """The text says what its speaker did ("Today I took a sushi class!"), not a wish or a plan."""
    return bool(_EVENT.search(text)) and not _NOT_DONE.search(text)


RELEVANCE = ("vector", "lexical", "entity", "temporal")
PRIOR = ("recency", "importance", "session")
FUSE_MAX = 0.3  # share of R taken by the best of vector and lexical


def _clip(cos: float) -> float:
    return min(1.0, max(0.0, cos))


def score_candidates(
    cands: list[Candidate],
    req: QueryRequest,
    policy: Policy,
    stats: lexical.Stats,
    when: TimeRange | None,
    entity_overlap: dict[UUID, float],
    vector_scale: Callable[[float], float] = _clip,
) -> None:
    """Set each candidate's components and score; ``vector_scale`` maps a raw cosine to the vector
    component (the embedder's calibration for this query; raw cosine clipped to [0, 1] if none)."""
    w = policy.weights.model_dump()
    if not req.session_id:
        w.pop("session")
    if when is None:
        w.pop("temporal")
    rel_w = sum(w[k] for k in RELEVANCE if k in w)
    prior_w = sum(w[k] for k in PRIOR if k in w)
    share = prior_w / ((rel_w + prior_w) or 1.0)
    lexical_of = lexical.Coverage(content_terms(req.query), stats)
    asks_activity = bool(_ACTIVITY_QUESTION.search(req.query))
    if asks_activity:  # "What did Zoe do last week?": something Zoe did counts like one more word
        lexical_of.add(EVENT, sum(lexical_of.weights.values()) / (len(lexical_of.weights) or 1))
    newest = max((c.row["occurred_at"] for c in cands), default=None)
    half_life_s = policy.recency_half_life_days * 86_400
    width = max(1.0, (when.end - when.start).total_seconds() / 86_400) if when else 1.0
    now = datetime.now(UTC)  # importance is computed as of the query (decayed, reinforced by access)
    # Every candidate's terms: stored with it, or tokenised in one pass (candidates share words). A
    # single-valued fact also holds the words questions use for it ("Where do I live?" for "We moved
    # to Porto"), and for "what did X do" questions a turn saying what its speaker did holds EVENT.
    asked = set(words(req.query))
    terms_of = [list(found) for found in lexical.terms_of_rows([c.row for c in cands])]
    keyed = [(i, kw) for i, c in enumerate(cands) if (kw := key_words(c.row.get("fact_key"), asked))]
    for (i, _), extra in zip(keyed, content_terms_many(kw for _, kw in keyed), strict=True):
        terms_of[i].extend(extra)
    if asks_activity:
        for c, doc_terms in zip(cands, terms_of, strict=True):
            if states_event(c.row["text"]):
                doc_terms.append(EVENT)
    # The loop below is the query's hottest Python (70-80 candidates): each component and sum is
    # computed as the formula above writes it, term by term in the same order (so the same floats),
    # with the per-query constants hoisted (docs/BENCHMARKS.md, "Query path, sixth round").
    has_session, has_temporal = "session" in w, when is not None
    session_id = req.session_id
    decay_days = policy.decay_half_life_days
    rel_div = rel_w or 1.0
    w_vec, w_lex, w_ent = w["vector"], w["lexical"], w["entity"]
    w_tmp = w.get("temporal", 0.0)
    w_rec, w_imp, w_ses = w["recency"], w["importance"], w.get("session", 0.0)
    sure_vec, sure_lex = w_vec > 0, w_lex > 0
    pow2 = math.pow
    current_of = importance.current_of
    overlap_of = entity_overlap.get
    for c, doc_terms in zip(cands, terms_of, strict=True):
        row = c.row
        occurred = row["occurred_at"]
        vec = vector_scale(float(row["vsim"]))
        lex = lexical_of(doc_terms)
        rec = pow2(2.0, -(newest - occurred).total_seconds() / half_life_s) if newest else 0.0
        # round(x, 4) costs ~0.5 us (correctly rounded decimal) and a candidate had seven: one is
        # skipped where x is 0 or 1 (unchanged by it) or rounded to 4 places already (``current_of``).
        if "base_importance" in row:
            imp = current_of(row, now, decay_days)
            imp_c = imp
        else:
            imp = float(row["importance"])
            imp_c = round(imp, 4)
        ent = overlap_of(row["id"], 0.0)
        comps = {
            "vector": round(vec, 4) if vec and vec != 1.0 else vec,
            "lexical": round(lex, 4) if lex and lex != 1.0 else lex,
            "recency": round(rec, 4) if rec != 1.0 else rec,
            "importance": imp_c,
            "entity": round(ent, 4) if ent else ent,
        }
        # Σ in RELEVANCE / PRIOR order, as ``sum`` adds them (its start, 0, adds nothing).
        total = w_vec * vec + w_lex * lex + w_ent * ent
        prior_sum = w_rec * rec + w_imp * imp
        if has_session:
            ses = 1.0 if row["session_id"] == session_id else 0.0
            comps["session"] = ses
            prior_sum += w_ses * ses
        if has_temporal:
            tmp = pow2(2.0, -when.distance_days(occurred) / width)  # type: ignore[union-attr]
            comps["temporal"] = round(tmp, 4)
            total += w_tmp * tmp
        c.components = comps
        mean = total / rel_div
        best = (max(vec, lex) if sure_lex else vec) if sure_vec else (lex if sure_lex else mean)
        if has_temporal:  # outside the time the question names, no signal is sure
            best *= tmp
        relevance = (1 - FUSE_MAX) * mean + FUSE_MAX * best
        prior = prior_sum / prior_w if prior_w else 1.0
        c.score = round(relevance * (1 - share + share * prior), 4)


def cut(
    ranked: list[Candidate], min_score: float, top_k: int, *, explain: bool = True
) -> tuple[list[Candidate], list[FilteredCandidate]]:
    """The best ``top_k`` at or above ``min_score`` (in rank order), and why each other one is out
    (``explain``; without it the second list is empty: a response that does not show them)."""
    kept = [c for c in ranked if c.score >= min_score][:top_k]
    if not explain:
        return kept, []
    filtered: list[FilteredCandidate] = []
    n = 0
    for c in ranked:
        if c.score < min_score:
            filtered.append(FilteredCandidate(memory_id=c.id, reason="below_threshold", score=c.score))
        elif n >= top_k:
            filtered.append(FilteredCandidate(memory_id=c.id, reason="not_in_top_k", score=c.score))
        else:
            n += 1
    return kept, filtered
