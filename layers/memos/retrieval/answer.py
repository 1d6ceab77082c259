"""Answers from memory. Extractive by default (no LLM): quote the best-supported sentences of the
retrieved memories, with citations. With ``MEMOS_ANSWER_MODE=bedrock``, an LLM answers from the
context pack through the Bedrock Converse API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from memos.governance.access_audit import Reader
from memos.kernel.config import get_settings
from memos.kernel.errors import DependencyUnavailable, MemosError
from memos.kernel.text import content_terms
from memos.models import AnswerRequest, AnswerResponse, QueryResponse
from memos.retrieval import search
from memos.retrieval.timeexpr import parse_time_range

NO_MEMORY = "I don't have a memory about that."
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
MAX_SENTENCES = 2
MIN_OVERLAP = 0.3  # share of the question's content words a sentence must contain ...
MIN_SCORE = 0.3  # ... unless its memory's absolute retrieval score is at least this and it has
# the kind of value the question asks for (a place for "where", a date for "when", ...)

# What a wh-question asks for, and how a sentence shows it has one.
_DATE = re.compile(
    r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[A-Z][a-z]+|[A-Z][a-z]+\s+\d{1,2}(?:st|nd|rd|th)?"
    r"|yesterday|today|tomorrow|tonight|last\s+\w+|next\s+\w+|on\s+(?:monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)|(?:19|20)\d{2})\b",
    re.I,
)
_PLACE = re.compile(r"\b(?:in|at|to|from|near|into|visited|visit)\s+(?:the\s+)?[A-Z][\w-]+")
_PERSON = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+\b")
_NUMBER = re.compile(
    r"\b(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen)\b", re.I
)
_ASKS = [
    (re.compile(r"^\s*(?:where|which (?:city|country|place))\b", re.I), "where", _PLACE),
    (re.compile(r"^\s*(?:when|what (?:date|day|time)|which (?:date|day))\b", re.I), "when", _DATE),
    (re.compile(r"^\s*(?:who|whom|whose)\b", re.I), "who", _PERSON),
    (re.compile(r"^\s*how (?:many|much|old|long)\b", re.I), "how-many", _NUMBER),
]


@dataclass
class _Sentence:
    text: str
    memory_id: UUID
    score: float
    overlap: float
    has_value: bool
    memory_score: float
    occurred_at: datetime | None


def asks_for(question: str) -> tuple[str | None, re.Pattern[str] | None]:
    """The kind of value a wh-question asks for (``where``/``when``/``who``/``how-many``), if any."""
    for pattern, kind, value in _ASKS:
        if pattern.search(question):
            return kind, value
    return None, None


def _wanted_terms(question: str) -> set[str]:
    """The question's content words without its time phrase ("yesterday" says when, not what)."""
    when = parse_time_range(question)
    text = question.replace(when.text, " ") if when and when.text else question
    return set(content_terms(text))


def _sentences(resp: QueryResponse, question: str) -> list[_Sentence]:
    wanted = _wanted_terms(question)
    _, value = asks_for(question)
    out = []
    for rank, r in enumerate(resp.results):
        for sent in (s.strip() for s in _SENTENCE.split(r.text)):
            if not sent:
                continue
            terms = set(content_terms(sent))
            overlap = len(wanted & terms) / len(wanted) if wanted else 0.0
            has_value = bool(value.search(sent)) if value else False
            # Support: how much of the question the sentence covers, its memory's absolute score,
            # whether it holds the kind of value asked for, and (a little) its memory's rank.
            support = overlap * 0.5 + r.score * 0.4 + (0.2 if has_value else 0.0) - rank * 0.01
            out.append(_Sentence(sent, r.memory_id, support, overlap, has_value, r.score, r.occurred_at))
    return sorted(out, key=lambda s: -s.score)


def _supported(s: _Sentence, asks: str | None) -> bool:
    if s.overlap >= MIN_OVERLAP:
        return True
    return s.memory_score >= MIN_SCORE and (asks is None or s.has_value or asks == "when")


def _quote(s: _Sentence, asks: str | None) -> str:
    """The sentence; for a "when" question whose sentence states no date, the date it was said."""
    if asks == "when" and not _DATE.search(s.text) and s.occurred_at is not None:
        return f"On {s.occurred_at.strftime('%d %B %Y').lstrip('0')}: {s.text}"
    return s.text


def extractive(req: AnswerRequest, resp: QueryResponse) -> tuple[str, list[UUID]]:
    asks, _ = asks_for(req.question)
    ranked = [s for s in _sentences(resp, req.question) if _supported(s, asks)]
    if not ranked:
        return NO_MEMORY, []
    chosen = [ranked[0]]
    for s in ranked[1:]:
        if len(chosen) == MAX_SENTENCES:
            break
        if s.score >= ranked[0].score * 0.75 and s.text not in {c.text for c in chosen}:
            chosen.append(s)
    citations = list(dict.fromkeys(s.memory_id for s in chosen))
    return " ".join(_quote(s, asks) for s in chosen), citations


class BedrockAnswerer:
    def __init__(self, client: Any = None) -> None:
        import boto3

        s = get_settings()
        self.model_id = s.bedrock_chat_model
        self.client = client or boto3.client("bedrock-runtime", region_name=s.aws_region)

    def _request(self, question: str, resp: QueryResponse) -> dict[str, Any]:
        system = (
            "Answer the question using only the memory context. If the context does not contain "
            "the answer, say you don't have a memory about it. Be brief."
        )
        prompt = f"Memory context:\n{resp.context_pack.text}\n\nQuestion: {question}"
        return {
            "modelId": self.model_id,
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": 400, "temperature": 0},
        }

    def answer(self, question: str, resp: QueryResponse) -> tuple[str, list[UUID]]:
        try:
            out = self.client.converse(**self._request(question, resp))
        except Exception as exc:  # botocore raises many shapes; all mean "not available now"
            raise DependencyUnavailable("the answer model (Bedrock) is unavailable") from exc
        text = "".join(part.get("text", "") for part in out["output"]["message"]["content"]).strip()
        return text or NO_MEMORY, _packed_results(resp)

    def stream(self, question: str, resp: QueryResponse, citations: list[UUID]) -> Iterator[str]:
        """The answer's text pieces as the model sends them (ConverseStream); ``citations`` is filled
        once the model is reached (the memories of the context pack it was given)."""
        try:
            out = self.client.converse_stream(**self._request(question, resp))
            citations.extend(_packed_results(resp))
            for event in out["stream"]:
                piece = (event.get("contentBlockDelta") or {}).get("delta", {}).get("text")
                if piece:
                    yield piece
        except MemosError:
            raise
        except Exception as exc:  # botocore raises many shapes, mid-stream too; all mean "not available now"
            raise DependencyUnavailable("the answer model (Bedrock) is unavailable") from exc


def _packed_results(resp: QueryResponse) -> list[UUID]:
    packed = {UUID(i["memory_id"]) for i in resp.context_pack.items}
    return [r.memory_id for r in resp.results if r.memory_id in packed]


def answer(req: AnswerRequest, *, bedrock: BedrockAnswerer | None = None) -> AnswerResponse:
    return answer_with_context(req, bedrock=bedrock)[0]


def answer_with_context(
    req: AnswerRequest, *, bedrock: BedrockAnswerer | None = None, reader: Reader | None = None
) -> tuple[AnswerResponse, QueryResponse]:
    """The answer, and the query response it was drawn from (``reader``: who reads, for the audit)."""
    resp = search.query(req.as_query(), reader=reader)
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


def sse(name: str, data: dict[str, Any]) -> str:
    """One server-sent event (text/event-stream framing)."""
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


def answer_stream(
    req: AnswerRequest, *, bedrock: BedrockAnswerer | None = None, reader: Reader | None = None
) -> tuple[QueryResponse, Iterator[str]]:
    """Retrieval now (its errors are an ordinary 4xx/503 before anything is sent), then the events
    as they are produced: ``context`` as soon as the context pack exists (before any answer text),
    ``delta`` for each piece of the answer (the model's own pieces in Bedrock mode, a sentence at a
    time when extractive), ``done`` with the whole AnswerResponse. A failure after ``context`` ends
    the stream with an ``error`` event in the API's error shape."""
    resp = search.query(req.as_query(), reader=reader)
    llm = get_settings().answer_mode == "bedrock" or bedrock is not None
    return resp, _events(req, resp, (bedrock or BedrockAnswerer()) if llm else None)


def _events(req: AnswerRequest, resp: QueryResponse, bedrock: BedrockAnswerer | None) -> Iterator[str]:
    yield sse(
        "context",
        {
            "context_pack_id": resp.context_pack.id,
            "query_id": resp.query_id,
            "results": [r.memory_id for r in resp.results],
            "token_usage": resp.token_usage.model_dump(),
        },
    )
    parts: list[str] = []
    citations: list[UUID] = []
    try:
        if bedrock is not None:
            pieces: Iterator[str] = bedrock.stream(req.question, resp, citations)
        else:
            text, citations = extractive(req, resp)
            pieces = iter(_SENTENCE_PIECE.findall(text) or [text])
        for piece in pieces:
            parts.append(piece)
            yield sse("delta", {"text": piece})
    except MemosError as exc:
        yield sse("error", {"error": {"code": exc.code, "message": exc.message, "details": []}})
        return
    result = AnswerResponse(
        answer="".join(parts) or NO_MEMORY,
        citations=citations,
        context_pack_id=resp.context_pack.id,
        mode="llm" if bedrock is not None else "extractive",
        token_usage=resp.token_usage,
    )
    yield sse("done", result.model_dump(mode="json"))


_SENTENCE_PIECE = re.compile(r"\s*\S.*?(?:[.!?。！？](?=\s|$)|$)", re.S)  # a sentence with its leading space
