"""Retrieval: query."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.api import identity, make_app, run
from memos import retrieval
from memos.models import QueryRequest, QueryResponse
from memos.observability import logger, metrics

app = make_app()


@app.post("/v1/query", summary="Ranked, explained memories and a token-budgeted context pack")
def post_query(body: QueryRequest) -> QueryResponse:
    identity(app).require("memory:read", body.namespace)
    return retrieval.query(body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
