"""Packing without a database: section order, budget fitting, grouping and token counts."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from memos.kernel.tokens import count_tokens
from memos.models import QueryRequest
from memos.retrieval.context_pack import build
from memos.retrieval.scoring import Candidate

REQ = QueryRequest(namespace="ns", query="what happened", session_id="s1")


def chosen(text: str, *, session: str = "s1", day: int = 1, hour: int = 9, score: float = 0.5) -> Candidate:
    row = {
        "id": uuid4(),
        "session_id": session,
        "role": "user",
        "kind": "episodic",
        "text": text,
        "metadata": {},
        "occurred_at": datetime(2024, 5, day, hour, tzinfo=UTC),
        "tokens": count_tokens(text),  # counted at ingest, as a stored row carries it
    }
    return Candidate(row, score=score)


def turn(text: str, memory_id: str | None = None, role: str = "user") -> dict:
    return {
        "memory_id": memory_id or str(uuid4()),
        "role": role,
        "text": text,
        "occurred_at": "2024-05-02T10:00:00+00:00",
        "turn_no": 1,
        "tokens": count_tokens(text),
    }


def test_summary_then_window_then_memories_grouped_by_session_and_day():
    late = chosen("we booked the train", day=1, hour=18, score=0.9)
    early = chosen("we planned a trip", day=1, hour=8, score=0.4)
    other = chosen("ana adopted a cat", session="s2", day=3, score=0.7)
    window = [turn("hello there"), turn("how are you", role="assistant")]
    pack, over, usage = build(
        REQ, "Ana likes trains.", window, [late, other, early], 1000, [late, other, early]
    )

    assert pack.text.split("\n") == [
        "## Session summary",
        "Ana likes trains.",
        "## Recent conversation",
        "- user: hello there",
        "- assistant: how are you",
        "## Relevant memories",
        "### s1 2024-05-01",  # the best-scored group first; inside it, time order
        "- user: we planned a trip",
        "- user: we booked the train",
        "### s2 2024-05-03",
        "- user: ana adopted a cat",
    ]
    assert over == []
    assert pack.summary == "Ana likes trains." and pack.l1_window == window
    assert [i["memory_id"] for i in pack.items] == [str(late.id), str(other.id), str(early.id)]
    assert pack.items[0] == {
        "memory_id": str(late.id),
        "score": 0.9,
        "tokens": count_tokens("- user: we booked the train"),
    }
    assert pack.tokens == count_tokens(pack.text) == usage.packed


def test_memories_beyond_the_budget_are_reported_over_budget():
    first = chosen("alpha beta gamma delta", score=0.9)
    second = chosen("epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho", score=0.8)
    third = chosen("sigma", score=0.7)
    cost_first = (
        count_tokens("## Relevant memories")
        + count_tokens("### s1 2024-05-01")
        + count_tokens("- user: alpha beta gamma delta")
    )
    budget = cost_first + count_tokens("- user: sigma")  # room for the first and the last, not the second
    req = QueryRequest(namespace="ns", query="q")
    pack, over, usage = build(req, None, [], [first, second, third], budget, [first, second, third])
    assert over == [second.id]
    assert [i["memory_id"] for i in pack.items] == [str(first.id), str(third.id)]
    assert (
        sum(i["tokens"] for i in pack.items)
        + count_tokens("## Relevant memories")
        + count_tokens("### s1 2024-05-01")
        <= budget
    )
    assert "omicron" not in pack.text and "sigma" in pack.text
    assert usage.candidates > usage.packed and usage.saved == usage.candidates - usage.packed
    assert usage.ratio == round(usage.saved / usage.candidates, 4)


def test_a_summary_too_large_for_its_share_is_left_out():
    summary = " ".join(f"word{i}" for i in range(200))
    pack, _, _ = build(REQ, summary, [], [], 100, [])
    assert pack.summary is None and pack.text == ""


def test_the_window_keeps_its_newest_turns_within_its_share():
    window = [turn(f"turn number {i} with some words in it") for i in range(40)]
    budget = 200
    pack, _, _ = build(REQ, None, window, [], budget, [])
    kept = pack.l1_window
    assert kept and kept == window[-len(kept) :]  # a suffix: the newest turns, in order
    assert count_tokens("## Recent conversation") + sum(
        count_tokens(f"- user: {t['text']}") for t in kept
    ) <= int(budget * 0.6)
    assert len(kept) < len(window)


def test_a_memory_already_in_the_window_is_not_repeated():
    c = chosen("hello there")
    window = [turn("hello there", memory_id=str(c.id))]
    pack, over, _ = build(REQ, None, window, [c], 1000, [c])
    assert pack.text.count("hello there") == 1 and pack.items == [] and over == []


def test_usage_counts_every_candidate_rendered_raw():
    a, b = chosen("one two three", score=0.9), chosen("four five six", score=0.1)
    pack, _, usage = build(QueryRequest(namespace="ns", query="q"), None, [], [a], 1000, [a, b])
    raw = sum(
        count_tokens(f"- [2024-05-01, s1] user: {t}")  # each candidate as a raw line: date, session, role
        for t in ("one two three", "four five six")
    )
    assert usage.candidates == max(raw, pack.tokens)
    assert usage.packed == pack.tokens


def test_candidate_tokens_count_each_candidate_line_prefix_and_its_stored_text_tokens():
    from memos.retrieval.context_pack import candidate_tokens

    cands = [
        chosen("we booked the train", day=1),
        chosen("the hotel is near the station", day=1, hour=11),  # same prefix as the first
        chosen("Ana adopted a dog", session="s2", day=3),
        chosen("雨が降った", session="s-long-session-name", day=12),
    ]
    cands[2].row["role"] = "assistant"
    late = chosen("a late call", day=12)  # 23:30 at UTC-5: its line says the 12th, as stored
    late.row["occurred_at"] = datetime(2024, 5, 12, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    cands.append(late)
    expected = 0
    for c in cands:
        day = c.row["occurred_at"].strftime("%Y-%m-%d")
        expected += count_tokens(f"- [{day}, {c.row['session_id']}] {c.row['role']}: ") + c.row["tokens"]
    assert candidate_tokens(None, [], cands) == expected


ODD_TEXTS = ["", "...!", "雨が降った", "naïve café: 3.5kg", "x" * 30, "'quoted'—dash", "end."]


def test_the_packs_token_count_is_its_texts_whatever_the_texts_are_made_of():
    window = [turn(t, role="assistant" if i % 2 else "user") for i, t in enumerate(ODD_TEXTS)]
    cands = [chosen(t or "-", day=1 + i % 3, score=0.9 - i / 100) for i, t in enumerate(ODD_TEXTS)]
    for summary in (None, "Ana: likes trains.\n- decided: [the 9:15] 東京"):
        pack, _, usage = build(REQ, summary, window, cands, 1000, cands)
        assert pack.tokens == count_tokens(pack.text) == usage.packed


def test_window_turns_that_are_not_candidates_count_as_raw_dated_lines():
    from memos.retrieval.context_pack import candidate_tokens

    in_both = chosen("hello there")
    window = [turn(t) for t in ODD_TEXTS] + [turn("hello there", memory_id=str(in_both.id))]
    window[2]["occurred_at"] = "2024-05-03T23:00:00-05:00"
    expected = sum(count_tokens(f"- [{t['occurred_at'][:10]}] user: {t['text']}") for t in window[:-1])
    expected += count_tokens("- [2024-05-01, s1] user: ") + in_both.row["tokens"]
    assert candidate_tokens(None, window, [in_both]) == expected
