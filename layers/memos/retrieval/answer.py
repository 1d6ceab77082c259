"""Answers from memory. Extractive by default (no LLM): quote the best-supported sentences of the
retrieved memories, with citations. With ``MEMOS_ANSWER_MODE=bedrock``, an LLM answers from the
context pack through the Bedrock Converse API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from memos.kernel.config import get_settings
from memos.kernel.errors import DependencyUnavailable
from memos.kernel.text import content_terms
from memos.models import AnswerRequest, AnswerResponse, QueryResponse
from memos.retrieval import search

NO_MEMORY = "I don't have a memory about that."
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
MAX_SENTENCES = 2


MIN_OVERLAP = 0.3


@dataclass
class _Sentence:
    text: str
    memory_id: UUID
    score: float
    overlap: float


def _sentences(resp: QueryResponse, question: str) -> list[_Sentence]:
    wanted = set(content_terms(question))
    out = []
    for rank, r in enumerate(resp.results):
        for sent in (s.strip() for s in _SENTENCE.split(r.text)):
            if not sent:
                continue
            terms = set(content_terms(sent))
            overlap = len(wanted & terms) / (len(wanted) or 1)
            # Support = how much of the question the sentence covers, weighted by its memory's rank.
            out.append(_Sentence(sent, r.memory_id, overlap * 0.6 + r.score * 0.4 - rank * 0.01, overlap))
    return sorted(out, key=lambda s: -s.score)


def extractive(req: AnswerRequest, resp: QueryResponse) -> tuple[str, list[UUID]]:
    ranked = _sentences(resp, req.question)
    # Scores are relative to the best candidate, so support must also be absolute: the sentence
    # has to share a real part of the question's content words.
    ranked = [s for s in ranked if s.overlap >= MIN_OVERLAP]
    if not ranked:
        return NO_MEMORY, []
    chosen = [ranked[0]]
    for s in ranked[1:]:
        if len(chosen) == MAX_SENTENCES:
            break
        if s.score >= ranked[0].score * 0.75 and s.text not in {c.text for c in chosen}:
            chosen.append(s)
    citations = list(dict.fromkeys(s.memory_id for s in chosen))
    return " ".join(s.text for s in chosen), citations


class BedrockAnswerer:
    def __init__(self, client: Any = None) -> None:
        import boto3

        s = get_settings()
        self.model_id = s.bedrock_chat_model
        self.client = client or boto3.client("bedrock-runtime", region_name=s.aws_region)

    def answer(self, question: str, resp: QueryResponse) -> tuple[str, list[UUID]]:
        system = (
            "Answer the question using only the memory context. If the context does not contain "
            "the answer, say you don't have a memory about it. Be brief."
        )
        prompt = f"Memory context:\n{resp.context_pack.text}\n\nQuestion: {question}"
        try:
            out = self.client.converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": 400, "temperature": 0},
            )
        except Exception as exc:  # botocore raises many shapes; all mean "not available now"
            raise DependencyUnavailable("the answer model (Bedrock) is unavailable") from exc
        text = "".join(part.get("text", "") for part in out["output"]["message"]["content"]).strip()
        packed = {UUID(i["memory_id"]) for i in resp.context_pack.items}
        return text or NO_MEMORY, [r.memory_id for r in resp.results if r.memory_id in packed]


def answer(req: AnswerRequest, *, bedrock: BedrockAnswerer | None = None) -> AnswerResponse:
    return answer_with_context(req, bedrock=bedrock)[0]


def answer_with_context(
    req: AnswerRequest, *, bedrock: BedrockAnswerer | None = None
) -> tuple[AnswerResponse, QueryResponse]:
    """The answer, and the query response it was drawn from (what the caller was handed, for audit)."""
    resp = search.query(req.as_query())
    if get_settings().answer_mode == "bedrock" or bedrock is not None:
        text, citations = (bedrock or BedrockAnswerer()).answer(req.question, resp)
        mode = "llm"
    else:
        text, citations = extractive(req, resp)
        mode = "extractive"
    result = AnswerResponse(
        answer=text,
        citations=citations,
        context_pack_id=resp.context_pack.id,
        mode=mode,
        token_usage=resp.token_usage,
    )
    return result, resp


def sse_events(result: AnswerResponse) -> Iterator[str]:
    """``context``, then the answer in ``delta`` pieces, then ``done`` (text/event-stream framing)."""
    import json

    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"

    yield event(
        "context",
        {
            "context_pack_id": result.context_pack_id,
            "citations": result.citations,
            "token_usage": result.token_usage.model_dump(),
        },
    )
    words = result.answer.split(" ")
    for i in range(0, len(words), 8):
        piece = " ".join(words[i : i + 8])
        yield event("delta", {"text": piece if i == 0 else " " + piece})
    yield event("done", result.model_dump(mode="json"))
