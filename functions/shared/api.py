"""What every API function shares: the resolver with SPEC §2 errors, request ids, body limits, identity."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from functions.shared import (
    errors,
    snapstart,  # noqa: F401  (registers the SnapStart hooks in Lambda)
)
from functions.shared.access import enforce_route_access
from functions.shared.access import identity as identity  # handlers take it from here
from functions.shared.limits import over_limit
from memos.kernel.config import get_settings
from memos.kernel.errors import Forbidden, MemosError, PayloadTooLarge
from memos.kernel.observability import logger
from memos.store import audit, db


def parse_json_body(body: str) -> Any:
    """``json.loads``, with Python's limit on integer digits reported as invalid JSON (400)."""
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError(f"a number is too long ({exc})", body, 0) from exc


def make_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json_body)
    app.use(middlewares=[enforce_route_access])  # every route's scope and grant, from the route table

    errors.register(app, on_forbidden=_audit_denial)
    return app


def request_id(app: APIGatewayRestResolver) -> str:
    return str((app.current_event.raw_event.get("requestContext") or {}).get("requestId") or "")


def _audit_denial(app: APIGatewayRestResolver, exc: Forbidden) -> None:
    event = app.current_event.raw_event
    ctx = (event.get("requestContext") or {}).get("authorizer") or {}
    try:
        with db.connection() as conn:
            audit.record(
                conn,
                "access_denied",
                actor=ctx.get("key_id"),
                request_id=request_id(app),
                details={"method": event.get("httpMethod"), "path": event.get("path"), "reason": exc.message},
            )
            conn.commit()
    except MemosError:
        logger.warning("could not audit a denied request")


class ResponseStream(Protocol):
    """Where a streaming runtime lets a handler write its response as it is produced (the local
    server hands one in the Lambda context as ``response_stream``; see event_stream)."""

    def start(self, status: int, headers: dict[str, str]) -> None: ...

    def write(self, data: str) -> None: ...


def event_stream(app: APIGatewayRestResolver, events: Iterator[str]) -> Response[str]:
    """A ``text/event-stream`` response. Where the runtime streams (``memos dev``: the context has a
    ``response_stream``) each event is written as it is produced; elsewhere (API Gateway REST +
    Lambda's Python runtime, which has no response streaming: docs/DEPLOY.md) the events are
    joined into one body, the same bytes in the same order."""
    headers = {"Cache-Control": "no-cache"}
    stream: ResponseStream | None = getattr(app.lambda_context, "response_stream", None)
    if stream is None:
        return Response(200, content_type="text/event-stream", body="".join(events), headers=headers)
    stream.start(200, {"Content-Type": "text/event-stream", **headers, **edge_headers(request_id(app))})
    try:
        for event in events:
            stream.write(event)
    except OSError:  # the caller went away: stop producing
        logger.info("the event stream's client disconnected")
    return Response(200, content_type="text/event-stream", body="", headers=headers)


def edge_headers(rid: str) -> dict[str, str]:
    """What every response carries: its request id, and CORS headers when a console origin is set."""
    headers = {"x-request-id": rid}
    origin = get_settings().cors_allow_origin
    if origin:  # the hosted console calls from its own origin; preflights are API Gateway's
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "x-request-id"
        headers["Vary"] = "Origin"
    return headers


def decoded_path(path: str) -> str:
    """API Gateway REST APIs send ``path`` still percent-encoded and Powertools takes route arguments
    from it, so ``/v1/namespaces/acme%3Aalice`` would name ``acme%3Aalice``: decode each segment. A
    segment holding an encoded ``/`` stays as sent, so decoding can never change which route matches."""
    return "/".join(seg if "/" in (plain := unquote(seg)) else plain for seg in path.split("/"))


def run(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve one API Gateway proxy event; every response carries x-request-id."""
    rc: dict[str, Any] = event.get("requestContext") or {}
    rid = rc.get("requestId") or str(uuid.uuid4())
    rc["requestId"] = rid
    event["requestContext"] = rc
    if isinstance(event.get("path"), str):
        event["path"] = decoded_path(event["path"])
    # The API speaks JSON only: a body sent without a JSON content type (curl -d sends a form
    # type) is still parsed as JSON rather than as a form.
    headers = event.get("headers") or {}
    for name in [k for k in headers if k.lower() == "content-type"]:
        del headers[name]
    headers["Content-Type"] = "application/json"
    event["headers"] = headers
    event.pop("multiValueHeaders", None)
    body = event.get("body") or ""
    limited = over_limit(event)
    if limited is not None:
        response = errors.proxy_error(429, "rate_limited", limited[0])
        response["headers"]["Retry-After"] = limited[1]
    elif len(body.encode() if isinstance(body, str) else body) > get_settings().max_body_bytes:
        err = PayloadTooLarge(f"the request body exceeds {get_settings().max_body_bytes} bytes")
        response = errors.proxy_error(err.status, err.code, err.message)
    else:
        response = app.resolve(event, context)
    response.setdefault("headers", {})
    response["headers"].update(edge_headers(rid))
    return response
