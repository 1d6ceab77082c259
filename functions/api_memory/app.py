"""Memory writes and reads: ingest, list, get, update, delete, history; session reset; namespace
delete and export."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import snapstart
from functions.shared.api import identity, make_app, request_id, run
from memos.kernel.errors import NotFound
from memos.kernel.observability import logger, metrics
from memos.memory import ingest, memories, namespaces, sessions
from memos.memory.memories import MemoryHistory
from memos.memory.namespaces import NamespaceDeleted
from memos.memory.sessions import ResetResult
from memos.models import (
    NAME_PATTERN,
    IngestRequest,
    IngestResponse,
    Kind,
    MemoryOut,
    MemoryPage,
    MemoryPatch,
    SessionReset,
)

app = make_app()

NameQuery = Annotated[str, Query(pattern=NAME_PATTERN)]


@app.post("/v1/ingest", summary="Store one memory or a batch (Idempotency-Key honored)")
def post_ingest(body: IngestRequest) -> IngestResponse:
    who = identity(app)

    def _do() -> IngestResponse:
        return ingest.ingest(body.namespace, body.as_items(), actor=who.key_id, request_id=request_id(app))

    def _do_once(request: dict[str, Any]) -> dict[str, Any]:  # Powertools passes ``request=``
        return _do().model_dump(mode="json")

    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
    if key:
        # Imported on first use: Powertools idempotency pulls boto3 in (~100 ms of cold start).
        from functions.shared.idempotency import run_once

        return IngestResponse.model_validate(
            run_once("ingest", _do_once, who.key_id, key, body.model_dump(mode="json"), app.lambda_context)
        )
    return _do()  # the model as is: no dump and validate again (1 ms for 500 items)


@app.get("/v1/memories", summary="List live memories, newest first")
def list_memories(
    namespace: NameQuery,
    session_id: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    kind: Annotated[Kind | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MemoryPage:
    return memories.list_memories(namespace, session_id=session_id, kind=kind, cursor=cursor, limit=limit)


@app.get("/v1/memories/<memory_id>", summary="One memory")
def get_memory(memory_id: str) -> MemoryOut:
    return memories.get_visible(identity(app), _uuid(memory_id))


@app.patch("/v1/memories/<memory_id>", summary="Change text, metadata or importance; keeps the old version")
def patch_memory(memory_id: str, body: MemoryPatch) -> MemoryOut:
    changes = body.model_dump(include=body.model_fields_set)
    return memories.update_memory(identity(app), _uuid(memory_id), changes, request_id=request_id(app))


@app.delete("/v1/memories/<memory_id>", summary="Forget one memory (kept in history, never returned again)")
def delete_memory(memory_id: str):  # a Response annotation breaks Powertools validation
    memories.delete_memory(identity(app), _uuid(memory_id), request_id=request_id(app))
    return Response(status_code=204)


@app.get("/v1/memories/<memory_id>/history", summary="Earlier versions and dedup/supersede links")
def memory_history(memory_id: str) -> MemoryHistory:
    return memories.history(identity(app), _uuid(memory_id))


@app.post("/v1/sessions/reset", summary="Clear a session everywhere (confirm or dry_run)")
def reset_session(body: SessionReset) -> ResetResult:
    return sessions.reset_session(
        identity(app),
        body.namespace,
        body.session_id,
        confirm=body.confirm,
        dry_run=body.dry_run,
        clear_audit=body.clear_audit,
        request_id=request_id(app),
    )


@app.delete("/v1/namespaces/<namespace>", summary="Forget everything in a namespace (audited)")
def delete_namespace(namespace: str) -> NamespaceDeleted:
    return namespaces.delete_namespace(identity(app), _name(namespace), request_id=request_id(app))


@app.get("/v1/namespaces/<namespace>/export", summary="JSON Lines of live memories, summaries, entities")
def export_namespace(namespace: str):  # see delete_memory
    lines = namespaces.export_lines(identity(app), _name(namespace), request_id=request_id(app))
    return Response(
        status_code=200, content_type="application/x-ndjson", body="".join(f"{line}\n" for line in lines)
    )


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFound("no such memory") from exc


def _name(value: str) -> str:
    import re

    if not re.match(NAME_PATTERN, value):
        raise NotFound("no such namespace")
    return value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)


warm = snapstart.load_embedder  # before a SnapStart snapshot: the embedder's data into the snapshot
