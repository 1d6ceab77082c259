import pytest

from infra.evaluation import metrics
from infra.evaluation.baselines import BM25Index, VectorIndex, tokenize
from infra.evaluation.datasets import Conversation, Question, Session, Turn, parse_iso
from infra.evaluation.harness import QuestionOutcome, SystemRun, api_name, format_table, summarize


def test_recall_hit_and_mrr_on_a_hand_computed_ranking():
    ranked = ["t9", "t2", "t7", "t1"]
    evidence = ["t1", "t2"]
    assert metrics.recall_at_k(ranked, evidence, 1) == 0.0
    assert metrics.recall_at_k(ranked, evidence, 2) == 0.5
    assert metrics.recall_at_k(ranked, evidence, 4) == 1.0
    assert metrics.recall_at_k(ranked, evidence, 10) == 1.0  # k beyond the list
    assert metrics.hit_at_k(ranked, evidence, 1) == 0.0
    assert metrics.hit_at_k(ranked, evidence, 2) == 1.0
    assert metrics.reciprocal_rank(ranked, evidence) == 0.5


def test_metrics_when_no_evidence_is_returned_or_results_are_empty():
    assert metrics.recall_at_k(["a", "b"], ["z"], 5) == 0.0
    assert metrics.hit_at_k(["a", "b"], ["z"], 5) == 0.0
    assert metrics.reciprocal_rank(["a", "b"], ["z"]) == 0.0
    assert metrics.recall_at_k([], ["z"], 5) == 0.0
    assert metrics.reciprocal_rank([], ["z"]) == 0.0
    # a question without evidence is not scored (None), and mean() skips it
    assert metrics.recall_at_k(["a"], [], 5) is None
    assert metrics.reciprocal_rank(["a"], []) is None
    assert metrics.mean([1.0, None, 0.0]) == 0.5
    assert metrics.mean([None]) is None


def test_a_position_may_stand_for_several_deduplicated_turns():
    ranked = [["x"], ["t1", "t3"], ["t2"]]
    assert metrics.recall_at_k(ranked, ["t3", "t2"], 2) == 0.5
    assert metrics.recall_at_k(ranked, ["t3", "t2"], 3) == 1.0
    assert metrics.reciprocal_rank(ranked, ["t3"]) == 0.5
    assert metrics.recall_at_k(["t1", "t1"], ["t1", "t2"], 2) == 0.5  # a turn counts once


def test_token_savings():
    assert metrics.token_savings(25, 100) == 0.75
    assert metrics.token_savings(0, 100) == 1.0
    assert metrics.token_savings(150, 100) == -0.5  # a pack larger than the conversation is a loss
    assert metrics.token_savings(10, 0) is None


def test_pollution():
    assert metrics.pollution_rate(["a", "a", "b", None], "a") == 0.5  # unknown counts as foreign
    assert metrics.pollution(["a", "b"], "a") == (1, 2)
    assert metrics.pollution_rate([], "a") == 0.0


def test_percentiles_and_latency_summary():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert metrics.percentile(values, 50) == 30.0
    assert metrics.percentile(values, 95) == pytest.approx(48.0)
    assert metrics.percentile(values, 0) == 10.0
    assert metrics.percentile(values, 100) == 50.0
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None
    with pytest.raises(ValueError):
        metrics.percentile(values, 101)
    s = metrics.latency_summary([3.0, 1.0, 2.0])
    assert s["n"] == 3 and s["p50"] == 2.0 and s["max"] == 3.0
    assert metrics.latency_summary([])["p95"] is None


TEXTS = [
    "Ana: I adopted a beagle named Biscuit from the shelter.",
    "Bruno: The weather has been weird lately.",
    "Ana: My favourite food is ramen, I could eat it daily.",
    "Bruno: I started working as a pastry chef at Cedar Lane Bakery.",
    "Chloe: Has anyone tried the new cafe downtown?",
]


def test_bm25_ranks_the_exact_match_first_and_ignores_stopwords():
    index = BM25Index(TEXTS)
    assert index.search("pastry chef Cedar Lane Bakery", 3)[0] == 3
    assert index.search("beagle named Biscuit", 3)[0] == 0
    assert index.search("the and of", 3) == []  # stopwords only: nothing scores
    assert tokenize("The Beagle, and THE shelter!") == ["beagle", "shelter"]


def test_bm25_prefers_rare_terms_and_shorter_documents():
    index = BM25Index(["apple banana", "apple banana cherry durian elderberry fig grape", "kiwi"])
    scores = index.scores("apple")
    assert scores[0] > scores[1] > 0 and scores[2] == 0


def test_vector_baseline_ranks_the_exact_match_first():
    index = VectorIndex(TEXTS)
    assert index.search(TEXTS[2], 5)[0] == 2
    assert index.search("Which bakery hired Bruno as a pastry chef?", 1) == [3]
    assert VectorIndex([]).search("anything", 3) == []


def _outcome(
    system: str, category: str, ranked: list[list[str]], evidence: list[str], tokens: int
) -> QuestionOutcome:
    q = Question("q", "?", "", evidence, category)
    return QuestionOutcome(system, "c", q, ranked, tokens, 100)


def test_summarize_aggregates_overall_and_by_category():
    run = SystemRun(
        outcomes=[
            _outcome("bm25", "single-hop", [["t1"], ["t2"]], ["t1"], 20),
            _outcome("bm25", "temporal", [["t3"], ["t4"]], ["t4", "t9"], 40),
            _outcome("bm25", "temporal", [], [], 0),  # no evidence: not scored for recall
        ],
        query_ms=[1.0, 3.0, 2.0],
    )
    out = summarize(run, [1, 2])
    overall = out["overall"]
    assert overall["recall@1"] == 0.5  # (1 + 0) / 2
    assert overall["recall@2"] == 0.75  # (1 + 0.5) / 2
    assert overall["hit@2"] == 1.0
    assert overall["mrr"] == 0.75  # (1 + 1/2) / 2
    assert overall["token_savings"] == pytest.approx((0.8 + 0.6 + 1.0) / 3)
    assert overall["questions"] == 3 and overall["questions_with_evidence"] == 2
    assert out["by_category"]["temporal"]["recall@2"] == 0.5
    assert out["latency_ms"]["query"]["p50"] == 2.0
    table = format_table({"config": {"k_values": [1, 2]}, "systems": {"bm25": out}})
    assert "single-hop" in table and "R@2" in table


def test_api_names_are_valid_namespaces():
    import re

    from memos.models import NAME_PATTERN

    for raw in ["locomo conv 26", "-weird/name?", "x" * 300, ""]:
        assert re.match(NAME_PATTERN, api_name("eval", "ab12", raw))


def test_dataclass_helpers():
    t = Turn("t1", "Ana", "user", "hi", parse_iso("2023-05-08T13:56:00Z"))
    conv = Conversation("c", [Session("s1", [t])], [])
    assert conv.turn_ids() == {"t1"} and conv.turns() == [t]
