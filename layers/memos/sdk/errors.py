"""Typed errors of the SDK: one class per HTTP status the API documents, each carrying the SPEC code."""

from __future__ import annotations

from typing import Any


class MemosApiError(Exception):
    """An error response ``{"error": {"code", "message", "details"}}`` (or a transport failure)."""

    status: int = 0

    def __init_subclass__(cls, status: int = 0, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "unknown",
        details: list[Any] | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status = status or type(self).status
        self.code = code
        self.message = message
        self.details = details or []
        self.request_id = request_id
        self.retry_after_s = retry_after_s


class BadRequestError(MemosApiError, status=400): ...


class AuthenticationError(MemosApiError, status=401): ...


class PermissionDeniedError(MemosApiError, status=403): ...


class NotFoundError(MemosApiError, status=404): ...


class ConflictError(MemosApiError, status=409): ...


class PayloadTooLargeError(MemosApiError, status=413): ...


class ValidationError(MemosApiError, status=422): ...


class RateLimitedError(MemosApiError, status=429): ...


class ServiceUnavailableError(MemosApiError, status=503): ...


class ServerError(MemosApiError, status=500): ...  # any other 5xx


class ConnectionFailedError(MemosApiError):
    """The API could not be reached (no HTTP response)."""


_BY_STATUS: dict[int, type[MemosApiError]] = {
    cls.status: cls for cls in MemosApiError.__subclasses__() if cls.status and cls is not ServerError
}


def error_for(
    status: int, body: Any, request_id: str | None, retry_after_s: float | None = None
) -> MemosApiError:
    """The typed error for an error response; the code and message come from the body when it has them."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        err = {"code": "http_error", "message": str(body)[:500] if body else f"HTTP {status}"}
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else MemosApiError)
    return cls(
        str(err.get("message", "")),
        status=status,
        code=str(err.get("code", "unknown")),
        details=list(err.get("details") or []),
        request_id=request_id,
        retry_after_s=retry_after_s,
    )
