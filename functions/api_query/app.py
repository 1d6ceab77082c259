"""Retrieval: query, answer, and the answer as server-sent events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import snapstart
from functions.shared.api import event_stream, identity, make_app, request_id, run
from memos.governance import access_audit
from memos.kernel.observability import logger, metrics
from memos.models import AnswerRequest, AnswerResponse, QueryRequest, QueryResponse
from memos.retrieval import answer, search

app = make_app()


@app.post("/v1/query", summary="Ranked, explained memories and a token-budgeted context pack")
def post_query(body: QueryRequest) -> QueryResponse:
    return search.query(body, reader=_reader("query"))


@app.post("/v1/answer", summary="Answer a question from memory, with citations")
def post_answer(body: AnswerRequest) -> AnswerResponse:
    result, _resp = answer.answer_with_context(body, reader=_reader("answer"))
    return result


@app.post("/v1/answer/stream", summary="The answer as text/event-stream: context, delta..., done")
def post_answer_stream(body: AnswerRequest):  # a Response annotation breaks Powertools validation
    _resp, events = answer.answer_stream(body, reader=_reader("answer"))
    return event_stream(app, events)


def _reader(action: str) -> access_audit.Reader:
    """Who reads, for the access audit the query writes with its context pack."""
    return access_audit.Reader(action, identity(app).key_id, request_id(app))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)


warm = snapstart.load_embedder  # before a SnapStart snapshot: the embedder's data into the snapshot
