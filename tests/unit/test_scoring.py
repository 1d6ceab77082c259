"""Ranking without a database: components, weights, and the cut into results and filtered."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from memos.governance.policy import Policy, RetrievalWeights
from memos.models import QueryRequest
from memos.retrieval.lexical import Stats
from memos.retrieval.scoring import Candidate, cut, score_candidates, tsquery_text
from memos.retrieval.timeexpr import TimeRange

DAY = datetime(2024, 5, 10, 12, tzinfo=UTC)
NO_STATS = Stats(docs=1, avgdl=1.0, df={})


def cand(
    text: str = "plain words", *, vsim: float = 0.5, importance: float = 0.0, **row: object
) -> Candidate:
    base = {
        "id": uuid4(),
        "session_id": "s1",
        "role": "user",
        "kind": "episodic",
        "text": text,
        "metadata": {},
        "occurred_at": DAY,
        "importance": importance,
        "vsim": vsim,
    }
    return Candidate({**base, **row})


def only(**weights: float) -> Policy:
    zero = dict.fromkeys(RetrievalWeights.model_fields, 0.0)
    return Policy(weights=RetrievalWeights(**{**zero, **weights}))


def req(query: str = "zebra", **kw: object) -> QueryRequest:
    return QueryRequest.model_validate({"namespace": "ns", "query": query, **kw})


def test_score_is_the_weighted_mean_of_the_components_and_orders_the_ranking():
    a = cand(vsim=0.9, importance=0.0)
    b = cand(vsim=0.5, importance=1.0)
    c = cand(vsim=0.1, importance=0.5)
    cands = [a, b, c]
    score_candidates(cands, req(), only(vector=1.0, importance=1.0), NO_STATS, None, {})
    # vector is min-max scaled over the candidates: a = 1, b = 0.5, c = 0
    assert [x.components["vector"] for x in cands] == [1.0, 0.5, 0.0]
    assert [x.score for x in cands] == [0.5, 0.75, 0.25]
    assert [x.id for x in sorted(cands, key=lambda x: -x.score)] == [b.id, a.id, c.id]


def test_weights_change_the_winner():
    near, important = cand(vsim=0.9, importance=0.1), cand(vsim=0.3, importance=0.9)
    score_candidates([near, important], req(), only(vector=3.0, importance=1.0), NO_STATS, None, {})
    assert near.score > important.score
    score_candidates([near, important], req(), only(vector=1.0, importance=3.0), NO_STATS, None, {})
    assert important.score > near.score


def test_lexical_is_bm25_relative_to_the_best_candidate():
    hit, miss = cand("the zebra crossed"), cand("a horse crossed")
    score_candidates([hit, miss], req("zebra"), only(lexical=1.0), NO_STATS, None, {})
    assert (hit.components["lexical"], miss.components["lexical"]) == (1.0, 0.0)
    assert (hit.score, miss.score) == (1.0, 0.0)


def test_recency_halves_per_half_life_behind_the_newest_candidate():
    newest, older = cand(), cand(occurred_at=DAY - timedelta(days=30))
    policy = only(recency=1.0).model_copy(update={"recency_half_life_days": 30.0})
    score_candidates([newest, older], req(), policy, NO_STATS, None, {})
    assert newest.components["recency"] == 1.0 and older.components["recency"] == 0.5


def test_entity_overlap_comes_from_the_given_map():
    known, unknown = cand(), cand()
    score_candidates([known, unknown], req(), only(entity=1.0), NO_STATS, None, {known.id: 0.5})
    assert (known.score, unknown.score) == (0.5, 0.0)


def test_session_component_applies_only_when_the_query_names_a_session():
    mine, other = cand(session_id="s1"), cand(session_id="s2")
    score_candidates([mine, other], req(), only(session=1.0, importance=1.0), NO_STATS, None, {})
    assert "session" not in mine.components and mine.score == 0.0
    score_candidates(
        [mine, other], req(session_id="s1"), only(session=1.0, importance=1.0), NO_STATS, None, {}
    )
    assert (mine.components["session"], other.components["session"]) == (1.0, 0.0)
    assert (mine.score, other.score) == (0.5, 0.0)


def test_temporal_is_one_inside_the_named_range_and_decays_by_its_width_outside():
    may = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), "in May 2024")
    inside = cand(occurred_at=datetime(2024, 5, 15, tzinfo=UTC))
    one_width_after = cand(occurred_at=datetime(2024, 7, 2, tzinfo=UTC))  # 31 days past the end
    score_candidates([inside, one_width_after], req(), only(temporal=1.0), NO_STATS, may, {})
    assert inside.components["temporal"] == 1.0
    assert one_width_after.components["temporal"] == 0.5
    score_candidates([inside], req(), only(temporal=1.0, importance=1.0), NO_STATS, None, {})
    assert "temporal" not in inside.components


def test_a_single_candidate_is_the_best_by_vector():
    alone = cand(vsim=0.2)
    score_candidates([alone], req(), only(vector=1.0), NO_STATS, None, {})
    assert alone.score == 1.0


def test_cut_keeps_top_k_above_min_score_and_says_why_the_rest_are_out():
    ranked = [cand(), cand(), cand(), cand()]
    for c, s in zip(ranked, [0.9, 0.6, 0.4, 0.01], strict=True):
        c.score = s
    kept, filtered = cut(ranked, min_score=0.05, top_k=2)
    assert [c.id for c in kept] == [ranked[0].id, ranked[1].id]
    assert [(f.memory_id, f.reason) for f in filtered] == [
        (ranked[2].id, "not_in_top_k"),
        (ranked[3].id, "below_threshold"),
    ]


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        ({}, "zebra | crossing | road"),  # a small namespace: every content word
        ({"zebra": 1, "cross": 15, "road": 2}, "zebra | road"),  # 'crossing' is in 15 of 40: ubiquitous
    ],
)
def test_tsquery_selects_the_rarest_words_that_are_not_ubiquitous(df, expected):
    stats = Stats(docs=40, avgdl=5.0, df=df) if df else None
    assert tsquery_text("the zebra crossing the road", stats) == expected
