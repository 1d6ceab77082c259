"""POST /v1/answer (extractive, no LLM; Bedrock via botocore Stubber) and /v1/answer/stream (SSE)."""

from __future__ import annotations

import json

import boto3
from botocore.stub import Stubber

from memos.models import AnswerRequest
from memos.retrieval import answer as answer_mod


def seed(api, ns):
    items = [
        {"session_id": "s", "role": "user", "text": "We moved to Lisbon in 2021. The flat has a balcony."},
        {"session_id": "s", "role": "user", "text": "My daughter Inês starts school in September."},
        {"session_id": "s", "role": "assistant", "text": "Congratulations on the move!"},
    ]
    return [
        m["memory_id"]
        for m in api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})[1]["memories"]
    ]


def test_extractive_answer_quotes_the_supporting_sentence_with_a_citation(api, ns):
    ids = seed(api, ns)
    status, body, _ = api.call(
        "POST", "/v1/answer", {"namespace": ns, "question": "When did we move to Lisbon?"}
    )
    assert status == 200 and body["mode"] == "extractive"
    assert "We moved to Lisbon in 2021." in body["answer"]
    assert body["citations"][0] == ids[0]
    assert body["context_pack_id"] and body["token_usage"]["packed"] > 0


def test_no_supporting_memory_says_so(api, ns):
    seed(api, ns)
    body = api.call("POST", "/v1/answer", {"namespace": ns, "question": "What is the capital of Mongolia?"})[
        1
    ]
    assert body["answer"] == answer_mod.NO_MEMORY and body["citations"] == []


def test_stream_sends_context_deltas_and_done(api, ns):
    seed(api, ns)
    status, body, headers = api.call(
        "POST", "/v1/answer/stream", {"namespace": ns, "question": "Which school does Inês start?"}
    )
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
        for b in body.strip().split("\n\n")
    ]
    names = [e for e, _ in events]
    assert names[0] == "context" and names[-1] == "done" and "delta" in names
    streamed = "".join(d["text"] for e, d in events if e == "delta")
    assert streamed == events[-1][1]["answer"]


def test_answer_validation_and_scope(api, ns):
    assert api.call("POST", "/v1/answer", {"namespace": ns})[0] == 422
    assert api.call("POST", "/v1/answer", {"namespace": ns, "question": "q", "scope": "session"})[0] == 422


def test_bedrock_mode_answers_from_the_context_pack(api, ns, env):
    ids = seed(api, ns)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "converse",
        {
            "output": {
                "message": {"role": "assistant", "content": [{"text": "You moved to Lisbon in 2021."}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 50, "outputTokens": 9, "totalTokens": 59},
            "metrics": {"latencyMs": 12},
        },
        {
            "modelId": answer_mod.get_settings().bedrock_chat_model,
            "system": [{"text": _any_text()}],
            "messages": _any_text(),
            "inferenceConfig": {"maxTokens": 400, "temperature": 0},
        },
    )
    with stub:
        result = answer_mod.answer(
            AnswerRequest(namespace=ns, question="When did we move to Lisbon?"),
            bedrock=answer_mod.BedrockAnswerer(client),
        )
    assert result.mode == "llm" and result.answer == "You moved to Lisbon in 2021."
    assert ids[0] in {str(c) for c in result.citations}
    stub.assert_no_pending_responses()


def test_bedrock_failure_is_a_clean_503(api, ns, env):
    seed(api, ns)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    from memos.kernel.errors import DependencyUnavailable

    with stub:
        try:
            answer_mod.answer(
                AnswerRequest(namespace=ns, question="Lisbon?"), bedrock=answer_mod.BedrockAnswerer(client)
            )
        except DependencyUnavailable as exc:
            assert "Bedrock" in exc.message
        else:
            raise AssertionError("expected DependencyUnavailable")


def _any_text():
    from botocore.stub import ANY

    return ANY


def test_where_do_i_live_answers_with_the_current_value_said_in_other_words(api, ns):
    for text in ("I've been living in Lyon since 2019.", "Guess what, we moved to Porto last month!"):
        api.call("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": text})
    status, body, _ = api.call("POST", "/v1/answer", {"namespace": ns, "question": "Where do I live?"})
    assert status == 200 and "Porto" in body["answer"] and "Lyon" not in body["answer"]
