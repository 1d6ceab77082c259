"""Retrieval: query, answer, and the answer as server-sent events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.api import event_stream, identity, make_app, request_id, run
from memos.governance import access_audit
from memos.kernel.observability import logger, metrics
from memos.models import AnswerRequest, AnswerResponse, QueryRequest, QueryResponse
from memos.retrieval import answer, search

app = make_app()


@app.post("/v1/query", summary="Ranked, explained memories and a token-budgeted context pack")
def post_query(body: QueryRequest) -> QueryResponse:
    who = identity(app)
    resp = search.query(body)
    _audit(
        "query", who.key_id, body.namespace, body.session_id, access_audit.returned_ids(resp), resp.query_id
    )
    return resp


@app.post("/v1/answer", summary="Answer a question from memory, with citations")
def post_answer(body: AnswerRequest) -> AnswerResponse:
    who = identity(app)
    result, resp = answer.answer_with_context(body)
    _audit(
        "answer", who.key_id, body.namespace, body.session_id, access_audit.returned_ids(resp), resp.query_id
    )
    return result


@app.post("/v1/answer/stream", summary="The answer as text/event-stream: context, delta..., done")
def post_answer_stream(body: AnswerRequest):  # a Response annotation breaks Powertools validation
    who = identity(app)
    resp, events = answer.answer_stream(body)
    _audit(
        "answer", who.key_id, body.namespace, body.session_id, access_audit.returned_ids(resp), resp.query_id
    )
    return event_stream(app, events)


def _audit(
    action: str, actor: str, namespace: str, session_id: str | None, ids: list[str], query_id: Any
) -> None:
    access_audit.record_read(
        action,
        namespace=namespace,
        session_id=session_id,
        actor=actor,
        request_id=request_id(app),
        memory_ids=ids,
        details={"query_id": str(query_id)},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
