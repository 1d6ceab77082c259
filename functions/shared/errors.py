"""Typed errors to HTTP, in one place: the SPEC error shape for every status the API answers.

``register`` maps each exception to its status on a resolver; ``proxy_error`` builds the same
body as a raw API Gateway proxy result for what answers before a resolver runs (the body-size
check, and the local server's routing, key and HTTP errors).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pydantic
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from memos.kernel.errors import Forbidden, MemosError
from memos.kernel.observability import logger


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def proxy_error(status: int, code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The error as an API Gateway proxy result."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error_body(code, message, details)),
        "isBase64Encoded": False,
    }


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, details),
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


def _is_data_error(exc: Exception) -> bool:
    """psycopg's DataError, without importing psycopg at cold start (if it is not loaded, no
    psycopg error can have been raised)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.DataError)


def register(
    app: APIGatewayRestResolver, on_forbidden: Callable[[APIGatewayRestResolver, Forbidden], None]
) -> None:
    """Every exception handler of a resolver; ``on_forbidden`` audits a refused request."""

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
        on_forbidden(app, exc)
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
