"""Per-key request limits, enforced by every API function (the same code locally and in AWS).

The authorizer names the caller (``requestContext.authorizer.key_id``); the Redis token bucket of
``memos.access.ratelimit`` takes one token per request for that key, shared by every Lambda instance and
server thread. Over the limit the request is refused with 429 and ``Retry-After`` in the SPEC
error shape before the handler touches any data. The stage throttle of API Gateway stays in
front as the overall ceiling (its 429 has the same shape: infra/constructs/api.py).
"""

from __future__ import annotations

from typing import Any


def over_limit(event: dict[str, Any]) -> tuple[str, str] | None:
    """(message, Retry-After seconds) when the calling key is over its rate; None otherwise.

    Requests without an authorizer identity (health) are not limited per key."""
    key_id = ((event.get("requestContext") or {}).get("authorizer") or {}).get("key_id")
    if not key_id:
        return None
    from memos.access import ratelimit

    decision = ratelimit.check(str(key_id))
    if decision.allowed:
        return None
    return "too many requests for this API key; retry later", decision.retry_after_header
