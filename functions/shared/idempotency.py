"""Idempotency-Key support with Powertools idempotency on the Redis persistence layer.

The record is keyed by (caller key id, Idempotency-Key); the body is checked too, so reusing a
key with a different body is a 409 instead of a silent replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer

from memos.errors import Conflict, DependencyUnavailable
from memos.working_memory import get_client

_CONFIG = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="body",
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)
_wrapped: dict[str, Callable[..., Any]] = {}


def run_once(name: str, fn: Callable[[dict[str, Any]], dict[str, Any]], caller: str, key: str,
             body: dict[str, Any]) -> dict[str, Any]:
    """Run ``fn(request)`` once per (caller, key); a retry gets the first response back."""
    if name not in _wrapped:
        store = RedisCachePersistenceLayer(client=get_client())
        _wrapped[name] = idempotent_function(
            data_keyword_argument="request", persistence_store=store, config=_CONFIG
        )(fn)
    try:
        return _wrapped[name](request={"caller": caller, "key": key, "body": body})
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was already used with a different request body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise DependencyUnavailable("the idempotency store (Redis) is unavailable") from exc
