"""What every API function shares: the resolver with SPEC §2 errors, request ids, body limits, identity."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any
from urllib.parse import unquote

import pydantic
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.shared import snapstart  # noqa: F401  (registers the SnapStart hooks in Lambda)
from functions.shared.limits import over_limit
from memos.access.auth import Identity
from memos.kernel.config import get_settings
from memos.kernel.errors import Forbidden, MemosError, PayloadTooLarge
from memos.kernel.observability import logger
from memos.store import audit, db


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details or []}},
    )


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body",)]
        msg = str(e.get("msg", e.get("type", "invalid")))
        out.append(
            {"field": ".".join(loc), "type": e.get("type"), "message": msg.removeprefix("Value error, ")}
        )
    return out


def parse_json_body(body: str) -> Any:
    """``json.loads``, with Python's limit on integer digits reported as invalid JSON (400)."""
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError(f"a number is too long ({exc})", body, 0) from exc


def _is_data_error(exc: Exception) -> bool:
    """psycopg's DataError, without importing psycopg at cold start (if it is not loaded, no
    psycopg error can have been raised)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.DataError)


def make_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json_body)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        broken = [e for e in errors if e.get("type") == "json_invalid"]
        if broken:
            why = str((broken[0].get("ctx") or {}).get("error") or "JSON decode error")
            return error_response(
                400, "invalid_json", "the request body is not valid JSON", [{"field": "", "message": why}]
            )
        return error_response(
            422, "validation_error", "the request does not match the API schema", _validation_details(errors)
        )

    @app.exception_handler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        return error_response(400, "invalid_json", "the request body is nested too deeply")

    @app.exception_handler(pydantic.ValidationError)
    def _invalid_domain(exc: pydantic.ValidationError) -> Response:
        return error_response(422, "validation_error", "invalid values", _validation_details(exc.errors()))

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        _audit_denial(app, exc)
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(MemosError)
    def _domain(exc: MemosError) -> Response:
        if exc.status >= 500:
            logger.warning("request failed on a dependency", extra={"error": exc.message})
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if _is_data_error(exc):
            return error_response(
                422, "validation_error", "a value cannot be stored (for example a NUL character)"
            )
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; see the request id in the logs")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route")

    return app


def identity(app: APIGatewayRestResolver) -> Identity:
    ctx = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer")
    return Identity.from_context(ctx)


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


def decoded_path(path: str) -> str:
    """API Gateway REST APIs send ``path`` still percent-encoded and Powertools takes route arguments
    from it, so ``/v1/namespaces/acme%3Aalice`` would name ``acme%3Aalice``: decode each segment. A
    segment holding an encoded ``/`` stays as sent, so decoding can never change which route matches."""
    return "/".join(seg if "/" in (plain := unquote(seg)) else plain for seg in path.split("/"))


def _plain(result: Response) -> dict[str, Any]:
    """A response made before the resolver runs, as the proxy integration expects it."""
    return {
        "statusCode": result.status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(result.body),
        "isBase64Encoded": False,
    }


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
        response = _plain(error_response(429, "rate_limited", limited[0]))
        response["headers"]["Retry-After"] = limited[1]
    elif len(body.encode() if isinstance(body, str) else body) > get_settings().max_body_bytes:
        err = PayloadTooLarge(f"the request body exceeds {get_settings().max_body_bytes} bytes")
        response = _plain(error_response(err.status, err.code, err.message))
    else:
        response = app.resolve(event, context)
    response.setdefault("headers", {})
    response["headers"]["x-request-id"] = rid
    origin = get_settings().cors_allow_origin
    if origin:  # the hosted console calls from its own origin; preflights are API Gateway's
        response["headers"]["Access-Control-Allow-Origin"] = origin
        response["headers"]["Access-Control-Expose-Headers"] = "x-request-id"
        response["headers"]["Vary"] = "Origin"
    return response
