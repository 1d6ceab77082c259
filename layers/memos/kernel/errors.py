"""Typed domain errors. The API layer maps each to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class MemosError(Exception):
    status = 500
    code = "internal_error"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status, cls.code = status or cls.status, code or cls.code

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(MemosError, status=400, code="bad_request"): ...


class Unauthorized(MemosError, status=401, code="unauthorized"): ...


class Forbidden(MemosError, status=403, code="forbidden"): ...


class NotFound(MemosError, status=404, code="not_found"): ...


class Conflict(MemosError, status=409, code="conflict"): ...


class PayloadTooLarge(MemosError, status=413, code="payload_too_large"): ...


class Unprocessable(MemosError, status=422, code="validation_error"): ...


class RateLimited(MemosError, status=429, code="rate_limited"): ...


class DependencyUnavailable(MemosError, status=503, code="dependency_unavailable"): ...
