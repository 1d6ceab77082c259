"""MCP over streamable HTTP (stateless, JSON responses): the memory tools with the caller's key and scopes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import snapstart
from functions.shared.api import identity, make_app, request_id, run
from memos.kernel.observability import logger, metrics

app = make_app()


@app.post("/v1/mcp", summary="Model Context Protocol endpoint (tools: remember, recall, answer, forget, ...)")
def post_mcp():  # a Response annotation breaks Powertools validation
    # Imported here: the MCP SDK is only needed by this route (keeps the cold start of the module small).
    from functions.api_mcp.backend import DomainBackend
    from memos.mcp_server import handle_http

    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items() if v is not None}
    headers.setdefault("accept", "application/json")  # the API answers JSON (a plain curl sends */*)
    body = event.decoded_body or ""
    status, out_headers, payload = handle_http(
        DomainBackend(identity(app), request_id(app)),
        "POST",
        "/v1/mcp",
        headers,
        body.encode() if isinstance(body, str) else body,
    )
    content_type = out_headers.pop("content-type", "application/json")
    keep = {k: v for k, v in out_headers.items() if k not in ("content-length",)}
    return Response(status_code=status, content_type=content_type, body=payload.decode(), headers=keep)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)


warm = snapstart.load_embedder  # before a SnapStart snapshot: the embedder's data into the snapshot
