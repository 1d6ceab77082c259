import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.evaluation.baselines import BM25Index
from infra.evaluation.datasets import (
    detect_format,
    load_dataset,
    parse_dataset,
    parse_locomo_datetime,
    save_dataset,
    to_native,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "locomo_tiny.json"


def _generator():
    spec = importlib.util.spec_from_file_location("make_eval_set", ROOT / "bench" / "make_eval_set.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_eval_set"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("10:37 am on 27 June, 2023", datetime(2023, 6, 27, 10, 37, tzinfo=UTC)),
        ("12:05 am on 1 Jan, 2024", datetime(2024, 1, 1, 0, 5, tzinfo=UTC)),
        ("12:30 pm on 3 March 2023", datetime(2023, 3, 3, 12, 30, tzinfo=UTC)),
        ("  7:00  PM  on  9  Sept, 2022 ", datetime(2022, 9, 9, 19, 0, tzinfo=UTC)),
        ("8 May, 2023", datetime(2023, 5, 8, tzinfo=UTC)),
        ("May 8, 2023", datetime(2023, 5, 8, tzinfo=UTC)),
        ("2023-05-08T13:56:00+02:00", datetime(2023, 5, 8, 11, 56, tzinfo=UTC)),
        ("not a date at all", None),
        ("", None),
        ("1:00 pm on 31 February, 2023", None),
    ],
)
def test_locomo_datetimes(text, expected):
    got = parse_locomo_datetime(text)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


def test_locomo_reader_on_the_fixture():
    ds = load_dataset(FIXTURE)
    assert ds.source_format == "locomo"
    assert [c.id for c in ds.conversations] == ["fixture-1", "fixture-2"]
    conv = ds.conversations[0]
    assert conv.namespace == "locomo-fixture-1"
    assert [s.session_id for s in conv.sessions] == ["session_1", "session_2", "session_3"]
    turns = conv.turns()
    assert [t.id for t in turns[:3]] == ["D1:1", "D1:2", "D1:3"]
    assert turns[0].speaker == "Avery" and turns[0].role == "user"
    assert turns[0].occurred_at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert turns[1].occurred_at - turns[0].occurred_at == timedelta(seconds=30)
    assert all(t.occurred_at.tzinfo is not None for t in turns)
    assert "[shares an image: a photo of moving boxes]" in turns[2].text
    s2 = conv.sessions[1].turns[0]
    assert s2.occurred_at == datetime(2023, 6, 27, 10, 37, tzinfo=UTC)
    # an unparseable session date falls a day after the previous session
    assert conv.sessions[2].turns[0].occurred_at == datetime(2023, 6, 28, 10, 37, tzinfo=UTC)

    qs = {q.question: q for q in conv.questions}
    assert qs["What class did Avery sign up for?"].category == "single-hop"
    assert qs["Where does Avery's sister live now?"].evidence == ["D1:3", "D2:2"]
    assert qs["Where does Avery's sister live now?"].category == "multi-hop"
    temporal = qs["When did Blake adopt a cat?"]
    # "D2:3; D9:9" is split, and D9:9 names no turn: dropped
    assert temporal.category == "temporal" and temporal.evidence == ["D2:3"]
    adversarial = qs["What is the name of Avery's cat?"]
    assert adversarial.category == "adversarial" and adversarial.answer == "Miso"
    assert ds.dropped_evidence == 1
    assert ds.n_questions == 5 and ds.n_turns == 9


def test_format_detection():
    assert detect_format({"conversations": []}) == "native"
    assert detect_format([{"sample_id": "x", "conversation": {}, "qa": []}]) == "locomo"
    assert detect_format({"sample_id": "x", "conversation": {}, "qa": []}) == "locomo"
    with pytest.raises(ValueError):
        detect_format({"something": "else"})
    with pytest.raises(ValueError):
        detect_format([])


def test_native_round_trip(tmp_path):
    native = {
        "name": "tiny",
        "conversations": [
            {
                "id": "c1",
                "namespace": "tiny-c1",
                "today": "2023-06-01T12:00:00+00:00",
                "sessions": [
                    {
                        "session_id": "s1",
                        "turns": [
                            {
                                "id": "t1",
                                "speaker": "Ana",
                                "role": "user",
                                "text": "I moved to Porto.",
                                "occurred_at": "2023-05-08T13:56:00Z",
                            },
                            {
                                "id": "t2",
                                "speaker": "Bot",
                                "role": "assistant",
                                "text": "Nice!",
                                "occurred_at": "2023-05-08T13:57:00+02:00",
                            },
                        ],
                    }
                ],
                "questions": [
                    {
                        "id": "q1",
                        "question": "Where does Ana live?",
                        "answer": "Porto",
                        "evidence": ["t1", "nope"],
                        "category": "single-hop",
                    }
                ],
            }
        ],
    }
    ds = parse_dataset(native)
    assert ds.source_format == "native" and ds.dropped_evidence == 1
    assert ds.conversations[0].questions[0].evidence == ["t1"]
    assert ds.conversations[0].today == datetime(2023, 6, 1, 12, tzinfo=UTC)
    path = tmp_path / "tiny.json"
    save_dataset(ds, path)
    again = load_dataset(path)
    assert to_native(again) == to_native(ds)
    assert again.conversations[0].sessions[0].turns[1].occurred_at == datetime(2023, 5, 8, 11, 57, tzinfo=UTC)
    # the LoCoMo reader's output saves as native and reads back the same
    loco = load_dataset(FIXTURE)
    save_dataset(loco, tmp_path / "loco.json")
    assert to_native(load_dataset(tmp_path / "loco.json")) == to_native(loco)


def test_native_rejects_naive_timestamps():
    bad = {
        "conversations": [
            {
                "id": "c",
                "sessions": [
                    {
                        "session_id": "s",
                        "turns": [{"id": "t", "text": "x", "occurred_at": "2023-05-08T13:56:00"}],
                    }
                ],
                "questions": [],
            }
        ]
    }
    with pytest.raises(ValueError, match="timezone"):
        parse_dataset(bad)


def test_generator_is_deterministic_and_valid():
    gen = _generator()
    a = gen.make_dataset(seed=3, n_conversations=2)
    assert a == gen.make_dataset(seed=3, n_conversations=2)
    assert a != gen.make_dataset(seed=4, n_conversations=2)
    ds = parse_dataset(a)
    assert ds.dropped_evidence == 0
    for conv in ds.conversations:
        ids = [t.id for t in conv.turns()]
        assert len(ids) == len(set(ids))
        assert conv.today is not None and conv.today > conv.turns()[-1].occurred_at
        for q in conv.questions:
            assert q.evidence and set(q.evidence) <= set(ids)
            if q.category == "multi-hop":
                assert len(set(q.evidence)) == 2
            if q.category == "multi-evidence":  # two or three turns, each from its own session
                sessions = {e.rsplit("-t", 1)[0] for e in q.evidence}
                assert len(set(q.evidence)) in (2, 3) and len(sessions) >= 2


def test_committed_synthetic_set_meets_the_thresholds():
    path = ROOT / "bench" / "data" / "synthetic_eval.json"
    data = json.loads(path.read_text())
    ds = parse_dataset(data)
    assert ds.n_turns >= 2000 and ds.n_questions >= 300
    assert ds.dropped_evidence == 0
    cats = {q.category for c in ds.conversations for q in c.questions}
    assert {"single-hop", "multi-hop", "temporal", "paraphrase", "multi-evidence"} <= cats
    assert path.stat().st_size < 3_000_000
    assert data == _generator().make_dataset()  # the committed file is what the generator makes


def test_paraphrases_share_no_content_word_with_their_evidence_except_names():
    from memos.kernel.text import content_terms

    gen = _generator()
    ds = parse_dataset(gen.make_dataset(seed=11, n_conversations=2))
    names = {t.lower() for n in gen.NAMES for t in content_terms(n)}
    for conv in ds.conversations:
        by_id = {t.id: t for t in conv.turns()}
        for q in conv.questions:
            if q.category == "paraphrase":
                shared = set(content_terms(q.question)) & set(content_terms(by_id[q.evidence[0]].text))
                assert not shared - names, (q.question, by_id[q.evidence[0]].text)


def test_bm25_finds_single_hop_evidence_in_a_generated_conversation():
    ds = parse_dataset(_generator().make_dataset(seed=5, n_conversations=1))
    conv = ds.conversations[0]
    turns = conv.turns()
    index = BM25Index([f"{t.speaker}: {t.text}" for t in turns])
    q = next(q for q in conv.questions if q.category == "temporal" and q.question.startswith("When did"))
    top = [turns[i].id for i in index.search(q.question, 10)]
    assert q.evidence[0] in top
