"""Memory writes and reads: ingest, list and get."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.api import identity, make_app, request_id, run
from functions.shared.idempotency import register_context, run_once
from memos import ingest, memories
from memos.models import IngestRequest, IngestResponse, Kind, MemoryOut, MemoryPage
from memos.observability import logger, metrics

app = make_app()


@app.post("/v1/ingest", summary="Store one memory or a batch (Idempotency-Key honored)")
def post_ingest(body: IngestRequest) -> IngestResponse:
    who = identity(app)
    who.require("memory:write", body.namespace)

    def _do(request: dict[str, Any]) -> dict[str, Any]:
        result = ingest.ingest(body.namespace, body.as_items(), actor=who.key_id, request_id=request_id(app))
        return result.model_dump(mode="json")

    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
    if key:
        return IngestResponse.model_validate(
            run_once("ingest", _do, who.key_id, key, body.model_dump(mode="json"))
        )
    return IngestResponse.model_validate(_do({}))


@app.get("/v1/memories", summary="List memories, newest first")
def list_memories(
    namespace: Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")],
    session_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")] = None,
    kind: Annotated[Kind | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MemoryPage:
    identity(app).require("memory:read", namespace)
    return memories.list_memories(namespace, session_id=session_id, kind=kind, cursor=cursor, limit=limit)


@app.get("/v1/memories/<memory_id>", summary="One memory")
def get_memory(memory_id: str) -> MemoryOut:
    return memories.get_visible(identity(app), _uuid(memory_id))


def _uuid(value: str) -> UUID:
    from memos.errors import NotFound

    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFound("no such memory") from exc


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    register_context(context)
    return run(app, event, context)
