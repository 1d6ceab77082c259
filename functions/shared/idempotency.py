"""Idempotency-Key support with Powertools idempotency on the Redis persistence layer.

The record is keyed by (caller key id, Idempotency-Key); the body is checked too, so reusing a
key with a different body is a 409 instead of a silent replay.

Everything that holds request data (the config with this invocation's Lambda context, the wrapped
function with its closure) is built per request. Only the persistence layer is reused, one per
(name, Redis client): it holds the client and settings derived from the fixed options below, and
no request data (its local cache stays off).
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
from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from memos.kernel.errors import Conflict, DependencyUnavailable
from memos.working_memory import get_client

_OPTIONS: dict[str, Any] = {
    "event_key_jmespath": "[caller, key]",
    "payload_validation_jmespath": "body",
    "expires_after_seconds": 24 * 3600,
    "raise_on_no_idempotency_key": True,
    "use_local_cache": False,  # a per-process cache would outlive the request that filled it
}
_stores: dict[str, _CacheLayer] = {}


class _CacheLayer(CachePersistenceLayer):
    """Powertools 3.37's cache layer drops the payload hash when it stores the response, so every
    replay would fail payload validation. Keep the hash when the record completes."""

    def _update_record(self, data_record: DataRecord) -> None:
        mapping = {
            self.data_attr: data_record.response_data,
            self.status_attr: data_record.status,
            self.expiry_attr: data_record.expiry_timestamp,
            self.validation_key_attr: data_record.payload_hash,
        }
        self.client.set(
            name=data_record.idempotency_key,
            value=self._json_serializer(mapping),
            ex=self._get_expiry_second(data_record.expiry_timestamp),
        )


def _store(name: str) -> _CacheLayer:
    """The persistence layer for ``name`` on the current Redis client (a new client gets a new one)."""
    client = get_client()
    store = _stores.get(name)
    if store is None or store.client is not client:
        store = _stores[name] = _CacheLayer(client=client)
    return store


def run_once(
    name: str,
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    caller: str,
    key: str,
    body: dict[str, Any],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run ``fn(request)`` once per (caller, key); a retry gets the first response back.

    ``lambda_context`` lets an interrupted request's in-progress record expire with the invocation
    instead of in 24 h."""
    config = IdempotencyConfig(**_OPTIONS, lambda_context=lambda_context)
    wrapped = idempotent_function(
        data_keyword_argument="request",
        persistence_store=_store(name),
        config=config,
        key_prefix=f"memos.{name}",  # the record key must not depend on the closure's name
    )(fn)
    try:
        return wrapped(request={"caller": caller, "key": key, "body": body})
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was already used with a different request body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise DependencyUnavailable("the idempotency store (Redis) is unavailable") from exc
