"""The rule-based summarizer: cue classification (English, Chinese), folding, rendering, tokens;
the optional Bedrock summarizer against botocore's Stubber."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from memos.governance.summarizer import (
    BedrockSummarizer,
    RuleSummarizer,
    Turn,
    classify,
    get_summarizer,
)
from memos.kernel.tokens import count_tokens

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def turn(text: str, role: str = "user") -> Turn:
    return Turn(role, text, T0, uuid.uuid4())


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        ("I prefer aisle seats", "preferences"),
        ("I really love hiking in the Alps", "preferences"),
        ("I don't like cilantro", "preferences"),
        ("We decided to use PostgreSQL for the ledger", "decisions"),
        ("We agreed on weekly releases", "decisions"),
        ("The cutover deadline is May 15th", "constraints"),
        ("Never deploy on Fridays", "constraints"),
        ("The budget is 5k", "constraints"),
        ("Watch out, the migration script failed last time", "pitfalls"),
        ("That was a mistake with the cache keys", "pitfalls"),
        ("Remind me to water the basil plants", "open_tasks"),
        ("I need to renew my passport", "open_tasks"),
        ("Can you remind me to call mom?", "open_tasks"),
        ("My sister Ana lives in Porto", "facts"),
        ("I work at Acme as a data engineer", "facts"),
        ("The flight leaves at 7", "facts"),
        # facts about the people in the speaker's life, with a multi-word subject
        ("My best friend Jun is teaching me to play the cello", "facts"),
        ("My little brother got into Oxford", "facts"),
        ("Jun, my best friend, moved to Osaka", "facts"),
        ("Our neighbour's kid just started school", "facts"),
        ("My partner Sam hates mushrooms", "facts"),
        ("She really hates loud restaurants", "facts"),
        ("Made moussaka again tonight, it's my comfort food", "preferences"),
        ("Pho is my go-to when I'm sick", "preferences"),
        ("我喜欢喝绿茶。", "preferences"),
        ("我们决定使用PostgreSQL。", "decisions"),
        ("预算不能超过五千元。", "constraints"),
        ("注意：上次部署失败了。", "pitfalls"),
        ("记得提醒我明天交报告。", "open_tasks"),
        ("我住在上海，在腾讯工作。", "facts"),
    ],
)
def test_sentences_are_classified_by_cues(sentence, category):
    assert classify(sentence) == category


@pytest.mark.parametrize(
    "sentence",
    [
        "ok thanks",
        "Ok, thanks a lot!",
        "好的",
        "谢谢",
        "好的，谢谢！",
        "sounds good",
        "What time is it?",
        "How is your sister doing?",
        "The weather is lovely today",
    ],
)
def test_filler_and_plain_questions_contribute_nothing(sentence):
    assert classify(sentence) is None


def test_filler_turns_give_an_empty_summary():
    result = RuleSummarizer().summarize(None, [turn("ok thanks"), turn("好的"), turn("谢谢", "assistant")])
    assert result.summary_text == ""
    assert all(result.summary[c] == [] for c in ("facts", "preferences", "entities"))


def test_items_carry_memory_ids_and_first_at_and_speaker():
    t1, t2 = (
        turn("I prefer aisle seats. My sister Ana lives in Porto."),
        turn("Noted, I will book one.", "assistant"),
    )
    s = RuleSummarizer().summarize(None, [t1, t2]).summary
    assert s["preferences"] == [
        {"text": "I prefer aisle seats.", "memory_ids": [str(t1.memory_id)], "first_at": T0.isoformat()}
    ]
    assert s["facts"][0]["text"] == "My sister Ana lives in Porto."
    assert s["open_tasks"][0]["text"] == "(assistant) Noted, I will book one."
    assert {e["text"]: e["type"] for e in s["entities"]} == {"Ana": "person", "Porto": "place"}


def test_folding_keeps_every_previous_item_and_merges_near_duplicates():
    first = RuleSummarizer().summarize(
        None, [turn("I prefer aisle seats."), turn("I am allergic to peanuts.")]
    )
    again = turn("I really prefer aisle seats!")
    second = RuleSummarizer().summarize(first.summary, [again, turn("We decided to fly on Friday.")])
    s = second.summary
    assert [i["text"] for i in s["preferences"]] == ["I prefer aisle seats."]
    assert (
        len(s["preferences"][0]["memory_ids"]) == 2
        and str(again.memory_id) in s["preferences"][0]["memory_ids"]
    )
    assert [i["text"] for i in s["constraints"]] == ["I am allergic to peanuts."]
    assert [i["text"] for i in s["decisions"]] == ["We decided to fly on Friday."]
    # A summary of nothing new still carries everything.
    third = RuleSummarizer().summarize(s, [turn("ok thanks")]).summary
    for category in ("preferences", "constraints", "decisions"):
        assert third[category] == s[category]


def test_tokens_before_count_the_previous_summary_and_the_new_turns():
    first = RuleSummarizer().summarize(None, [turn("I prefer aisle seats.")])
    turns = [turn("We decided to use Redis for sessions."), turn("ok thanks")]
    second = RuleSummarizer().summarize(first.summary, turns)
    assert first.tokens_before == count_tokens("I prefer aisle seats.")
    assert second.tokens_before == count_tokens(first.summary_text) + sum(count_tokens(t.text) for t in turns)
    assert second.tokens_after == count_tokens(second.summary_text)


def test_rendering_keeps_every_current_fact_without_a_count_cut():
    n = 20
    turns = [turn(f"My locker number {i} is on floor {i + 100}.") for i in range(n)]
    result = RuleSummarizer().summarize(None, turns)
    assert len(result.summary["facts"]) == n
    assert all(f"My locker number {i} is on floor {i + 100}." in result.summary_text for i in range(n))
    assert result.summary["omitted_from_text"] == {}


def test_people_and_early_facts_survive_many_folds_of_filler_and_new_facts():
    summary = None
    first = [
        turn("My name is Dana Whitlock."),
        turn("My daughter Mia is 7 years old."),
        turn("My colleague Ravi runs QA."),
    ]
    result = RuleSummarizer().summarize(summary, first)
    for i in range(12):
        batch = [turn(f"I bought {i + 2} new plants on Monday.")] + [turn("ok thanks")] * 5
        result = RuleSummarizer().summarize(result.summary, batch)
    for needle in ("Dana Whitlock", "Mia is 7 years old", "Ravi"):
        assert needle in result.summary_text


def test_a_summary_never_has_more_tokens_than_what_it_replaces():
    result = RuleSummarizer().summarize(None, [turn("I prefer aisle seats.")])
    assert result.tokens_after <= result.tokens_before
    assert "I prefer aisle seats." in result.summary_text
    for text in ("We decided to use Redis.", "I am allergic to peanuts.", "ok"):
        result = RuleSummarizer().summarize(result.summary, [turn(text)])
        assert result.tokens_after <= result.tokens_before


def test_a_newer_value_of_a_single_valued_fact_replaces_the_older_in_the_text():
    first = RuleSummarizer().summarize(None, [turn("I live in Paris.")])
    second = RuleSummarizer().summarize(first.summary, [turn("Actually I live in Berlin now.")])
    assert "Berlin" in second.summary_text and "Paris" not in second.summary_text
    paris = next(i for i in second.summary["facts"] if "Paris" in i["text"])
    assert paris["replaced_by"] == "Actually I live in Berlin now."


def test_a_bare_number_in_chatter_is_not_a_fact():
    result = RuleSummarizer().summarize(None, [turn("lol 10 out of 10 would watch again")])
    assert result.summary["facts"] == []


def test_long_sentences_are_clipped():
    result = RuleSummarizer().summarize(None, [turn("I prefer " + "very " * 100 + "quiet rooms.")])
    item = result.summary["preferences"][0]["text"]
    assert len(item) <= 300 and item.endswith("…")


def test_chinese_turns_yield_items_in_every_category():
    turns = [
        turn(t)
        for t in [
            "我喜欢靠窗的座位。我们决定使用Redis。",
            "预算不能超过五千元。注意：上次部署失败了。",
            "记得提醒我交报告。我住在上海。",
            "好的，谢谢！",
        ]
    ]
    s = RuleSummarizer().summarize(None, turns).summary
    for category in ("preferences", "decisions", "constraints", "pitfalls", "open_tasks", "facts"):
        assert s[category], category
    assert not any("谢谢" in i["text"] for c in ("facts", "open_tasks") for i in s[c])
    assert "上海" in [e["text"] for e in s["entities"]]


def test_default_summarizer_is_rule_based():
    assert get_summarizer().name == "rules"


def _bedrock(reply_text: str | None = None, error: str | None = None) -> tuple[BedrockSummarizer, Stubber]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    params = {"modelId": "amazon.nova-lite-v1:0", "system": ANY, "messages": ANY, "inferenceConfig": ANY}
    if error:
        stub.add_client_error(
            "converse", service_error_code=error, http_status_code=429, expected_params=params
        )
    else:
        stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": reply_text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20},
                "metrics": {"latencyMs": 5},
            },
            params,
        )
    stub.activate()
    return BedrockSummarizer("amazon.nova-lite-v1:0", client=client), stub


def test_bedrock_summarizer_folds_the_model_items_with_the_previous_summary():
    previous = RuleSummarizer().summarize(None, [turn("I prefer aisle seats.")]).summary
    turns = [turn("Let us go with Postgres then"), turn("and remember the Friday freeze")]
    reply = "Here you go:\n" + json.dumps(
        {
            "decisions": [{"text": "Use Postgres", "turns": [1]}],
            "constraints": [{"text": "Friday freeze", "turns": [2, 9]}],
        }
    )
    summarizer, stub = _bedrock(reply)
    result = summarizer.summarize(previous, turns)
    stub.assert_no_pending_responses()
    s = result.summary
    assert s["summarizer"] == "bedrock"
    assert [i["text"] for i in s["preferences"]] == ["I prefer aisle seats."]  # carried, not by the model
    assert s["decisions"] == [
        {"text": "Use Postgres", "memory_ids": [str(turns[0].memory_id)], "first_at": T0.isoformat()}
    ]
    assert s["constraints"][0]["memory_ids"] == [str(turns[1].memory_id)]
    assert "Use Postgres" in result.summary_text


def test_bedrock_failure_falls_back_to_the_rules():
    summarizer, stub = _bedrock(error="ThrottlingException")
    result = summarizer.summarize(None, [turn("I prefer aisle seats.")])
    stub.assert_no_pending_responses()
    assert result.summary["summarizer"] == "rules"
    assert result.summary["preferences"][0]["text"] == "I prefer aisle seats."


def test_bedrock_reply_that_is_not_json_falls_back_to_the_rules():
    summarizer, _ = _bedrock("I cannot help with that")
    result = summarizer.summarize(None, [turn("We decided to use Redis.")])
    assert result.summary["summarizer"] == "rules" and result.summary["decisions"]
