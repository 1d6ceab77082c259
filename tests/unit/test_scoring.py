"""Ranking without a database: components, weights, and the cut into results and filtered."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from memos.governance.policy import Policy, RetrievalWeights
from memos.models import QueryRequest
from memos.retrieval.lexical import Stats, query_terms
from memos.retrieval.scoring import Candidate, cut, score_candidates, states_event
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


def test_score_is_relevance_times_the_prior_and_orders_the_ranking():
    a = cand(vsim=0.9, importance=0.0)
    b = cand(vsim=0.5, importance=1.0)
    c = cand(vsim=0.1, importance=0.5)
    cands = [a, b, c]
    score_candidates(cands, req(), only(vector=1.0, importance=1.0), NO_STATS, None, {})
    # vector is on a fixed scale (here the raw cosine, clipped): not rescaled over the candidates
    assert [x.components["vector"] for x in cands] == [0.9, 0.5, 0.1]
    # R = vector (the only relevance weight); prior share p = 1/2: score = R * (1/2 + importance/2)
    assert [x.score for x in cands] == [0.45, 0.5, 0.075]
    assert [x.id for x in sorted(cands, key=lambda x: -x.score)] == [b.id, a.id, c.id]


def test_a_memory_nothing_in_the_question_points_at_scores_zero_whatever_its_importance():
    unrelated = cand(vsim=0.0, importance=1.0)
    score_candidates([unrelated], req(), Policy(), NO_STATS, None, {})
    assert unrelated.score == 0.0


def test_scores_do_not_depend_on_the_other_candidates():
    alone, crowd = cand(vsim=0.4), [cand(vsim=0.9), cand(vsim=0.1)]
    score_candidates([alone], req(), Policy(), NO_STATS, None, {})
    first = alone.score
    score_candidates([alone, *crowd], req(), Policy(), NO_STATS, None, {})
    assert alone.score == first


def test_the_vector_scale_maps_cosines_through_the_embedders_calibration():
    hit = cand(vsim=0.7)
    score_candidates([hit], req(), only(vector=1.0), NO_STATS, None, {}, vector_scale=lambda cos: cos / 2)
    assert hit.components["vector"] == 0.35


def test_weights_change_the_winner():
    near, important = cand(vsim=0.6, importance=0.1), cand(vsim=0.4, importance=0.9)
    score_candidates([near, important], req(), only(vector=3.0, importance=1.0), NO_STATS, None, {})
    assert near.score > important.score
    score_candidates([near, important], req(), only(vector=1.0, importance=3.0), NO_STATS, None, {})
    assert important.score > near.score


def test_lexical_is_the_share_of_the_querys_idf_mass_the_memory_contains():
    stats = Stats(docs=100, avgdl=5.0, df={"zebra": 1, "cross": 50})
    both, rare, common, none = (
        cand("the zebra crossed"),
        cand("a zebra"),
        cand("a horse crossed"),
        cand("a horse"),
    )
    score_candidates([both, rare, common, none], req("zebra crossing"), only(lexical=1.0), stats, None, {})
    assert both.components["lexical"] == 1.0 and none.components["lexical"] == 0.0
    assert rare.components["lexical"] > 0.7 > 0.3 > common.components["lexical"] > 0.0
    assert both.score == 1.0


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
    score_candidates([mine, other], req(session_id="s1"), only(vector=1.0, session=1.0), NO_STATS, None, {})
    assert (mine.components["session"], other.components["session"]) == (1.0, 0.0)
    # equally relevant (vector 0.5); the prior (session) halves the other session's score
    assert (mine.score, other.score) == (0.5, 0.25)


def test_temporal_is_one_inside_the_named_range_and_decays_by_its_width_outside():
    may = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), "in May 2024")
    inside = cand(occurred_at=datetime(2024, 5, 15, tzinfo=UTC))
    one_width_after = cand(occurred_at=datetime(2024, 7, 2, tzinfo=UTC))  # 31 days past the end
    score_candidates([inside, one_width_after], req(), only(temporal=1.0), NO_STATS, may, {})
    assert inside.components["temporal"] == 1.0
    assert one_width_after.components["temporal"] == 0.5
    score_candidates([inside], req(), only(temporal=1.0, importance=1.0), NO_STATS, None, {})
    assert "temporal" not in inside.components


def test_cut_keeps_top_k_above_min_score_and_says_why_the_rest_are_out():
    ranked = [cand(), cand(), cand(), cand()]
    for c, s in zip(ranked, [0.9, 0.6, 0.4, 0.01], strict=True):
        c.score = s
    kept, filtered = cut(ranked, min_score=0.05, top_k=2)
    assert [c.id for c in kept] == [ranked[0].id, ranked[1].id]
    assert [(f.memory_id, f.reason, f.score) for f in filtered] == [
        (ranked[2].id, "not_in_top_k", 0.4),
        (ranked[3].id, "below_threshold", 0.01),
    ]
    # A response that does not show the others keeps the same ones and builds no explanation.
    unexplained, none = cut(ranked, min_score=0.05, top_k=2, explain=False)
    assert unexplained == kept and none == []
    below = [cand(), cand()]
    below[0].score, below[1].score = 0.01, 0.9  # ranked lists are sorted, but kept follows their order
    assert cut(below, 0.05, 2, explain=False)[0] == cut(below, 0.05, 2)[0] == [below[1]]


@pytest.mark.parametrize(
    ("docs", "df", "expected"),
    [
        (10, {"zebra": 1, "cross": 5, "road": 2}, ["zebra", "road", "cross"]),  # small: rarest first
        (40, {"zebra": 1, "cross": 15, "road": 2}, ["zebra", "road"]),  # 'crossing' in 15 of 40: ubiquitous
        (40, {"road": 2}, ["road"]),  # words the namespace never saw have no postings
        (40, {}, []),
    ],
)
def test_query_terms_are_the_rarest_known_words_that_are_not_ubiquitous(docs, df, expected):
    stats = Stats(docs=docs, avgdl=5.0, df=df)
    assert [t for t, _ in query_terms("the zebra crossing the road", stats)] == expected


def test_query_terms_carry_their_idf_rarer_words_weigh_more():
    stats = Stats(docs=100, avgdl=5.0, df={"zebra": 1, "road": 20})
    weights = dict(query_terms("zebra road", stats))
    assert weights["zebra"] > weights["road"] > 0


def test_a_single_valued_fact_holds_the_words_questions_use_for_it():
    stats = Stats(docs=100, avgdl=6.0, df={"live": 5, "move": 5, "porto": 1})
    moved = cand("We moved to Porto last month", fact_key="user|home city")
    chatter = cand("We moved the sofa to the window")
    score_candidates([moved, chatter], req("Where do I live?"), only(lexical=1.0), stats, None, {})
    assert moved.components["lexical"] == 1.0 and chatter.components["lexical"] == 0.0


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("Today I baked bread for the whole street!", True),
        ("We went to the coast yesterday.", True),
        ("Guess what, I gave a talk at a conference today.", True),
        ("I'd love to learn the cello someday.", False),
        ("I'll go to the dentist tomorrow.", False),
        ("I almost adopted a ferret.", False),
        ("I need to call my mother.", False),
        ("Has anyone tried the new cafe?", False),
    ],
)
def test_a_turn_states_an_event_when_its_speaker_says_what_they_did(text, event):
    assert states_event(text) is event


def test_what_someone_did_prefers_the_turns_saying_what_they_did():
    stats = Stats(docs=100, avgdl=6.0, df={"ana": 30})
    did = cand("Today I repainted the garden shed!", vsim=0.3, metadata={"speaker": "Ana"})
    chat = cand("The weather was so grey, sadly.", vsim=0.35, metadata={"speaker": "Ana"})
    score_candidates([did, chat], req("What did Ana do last week?"), Policy(), stats, None, {})
    assert did.score > chat.score
    # Another question about Ana leaves events alone.
    score_candidates([did, chat], req("Where does Ana live?"), Policy(), stats, None, {})
    assert did.components["lexical"] == chat.components["lexical"]


def test_a_uuids_int_orders_as_its_text_so_ties_break_the_same_either_way():
    import uuid

    ids = [uuid.uuid4() for _ in range(500)] + [
        uuid.UUID(int=0),
        uuid.UUID(int=2**128 - 1),
        uuid.UUID(int=255),
    ]
    assert sorted(ids, key=lambda u: u.int) == sorted(ids, key=str)


def _reference_score(comp: dict[str, float], w: dict[str, float]) -> float:
    """The module docstring's formula, written out here with plain sums over the components present."""
    rel = [k for k in ("vector", "lexical", "entity", "temporal") if k in comp]
    prior = [k for k in ("recency", "importance", "session") if k in comp]
    rel_w, prior_w = sum(w[k] for k in rel), sum(w[k] for k in prior)
    mean = sum(w[k] * comp[k] for k in rel) / (rel_w or 1.0)
    sure = [comp[k] for k in ("vector", "lexical") if w[k] > 0]
    best = max(sure) if sure else mean
    if "temporal" in comp:
        best *= comp["temporal"]
    relevance = 0.7 * mean + 0.3 * best
    share = prior_w / ((rel_w + prior_w) or 1.0)
    p = sum(w[k] * comp[k] for k in prior) / prior_w if prior_w else 1.0
    return round(relevance * (1 - share + share * p), 4)


@pytest.mark.parametrize("seed", range(12))
def test_every_score_follows_the_formula_with_any_weights_session_and_time_range(seed: int) -> None:
    import random

    rng = random.Random(seed)
    names = list(RetrievalWeights.model_fields)
    weights = {k: rng.choice([0.0, 0.0, rng.random()]) for k in names}
    policy = only(**weights)
    session = rng.choice([None, "s1"])
    may = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), "in May 2024")
    when = rng.choice([None, may])
    cands = [
        cand(
            rng.choice(["zebra stripes", "plain words", "a zebra"]),
            vsim=rng.uniform(-0.2, 1.0),
            importance=rng.random(),
            session_id=rng.choice(["s1", "s2"]),
            occurred_at=DAY - timedelta(days=rng.uniform(0, 90)),
        )
        for _ in range(25)
    ]
    overlap = {c.id: rng.choice([0.0, 0.5, 1.0]) for c in cands}
    stats = Stats(docs=10, avgdl=3.0, df={"zebra": 2})
    score_candidates(cands, req(session_id=session) if session else req(), policy, stats, when, overlap)
    for c in cands:
        # the test's own component values (the raw cosine clipped, idf coverage of the one query term,
        # recency behind the newest, the stored importance, the given overlap, session, time range)
        newest = max(x.row["occurred_at"] for x in cands)
        comp = {
            "vector": min(1.0, max(0.0, c.row["vsim"])),
            "lexical": 1.0 if "zebra" in c.row["text"] else 0.0,
            "recency": 2.0
            ** (-(newest - c.row["occurred_at"]).total_seconds() / (policy.recency_half_life_days * 86_400)),
            "importance": c.row["importance"],
            "entity": overlap[c.id],
        }
        if session:
            comp["session"] = 1.0 if c.row["session_id"] == session else 0.0
        if when:
            comp["temporal"] = (
                1.0
                if may.start <= c.row["occurred_at"] < may.end
                else 2.0 ** (-when.distance_days(c.row["occurred_at"]) / 31.0)
            )
        assert c.components == pytest.approx({k: round(v, 4) for k, v in comp.items()}, abs=1e-9)
        assert list(c.components) == list(comp)
        assert c.score == pytest.approx(_reference_score(comp, weights), abs=1.00001e-4)
