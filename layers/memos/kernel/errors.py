"""Typed domain errors. The API layer maps each to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class MemosError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(MemosError):
    status, code = 400, "bad_request"


class Unauthorized(MemosError):
    status, code = 401, "unauthorized"


class Forbidden(MemosError):
    status, code = 403, "forbidden"


class NotFound(MemosError):
    status, code = 404, "not_found"


class Conflict(MemosError):
    status, code = 409, "conflict"


class PayloadTooLarge(MemosError):
    status, code = 413, "payload_too_large"


class Unprocessable(MemosError):
    status, code = 422, "validation_error"


class RateLimited(MemosError):
    status, code = 429, "rate_limited"


class DependencyUnavailable(MemosError):
    status, code = 503, "dependency_unavailable"
