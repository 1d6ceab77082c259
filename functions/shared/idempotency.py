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
from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from memos.kernel.errors import Conflict, DependencyUnavailable
from memos.working_memory import get_client

_CONFIG = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="body",
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)
# Only stores are cached across invocations: a cached wrapper would keep the first request's closure
# (its body) and answer every later key with it.
_stores: dict[str, CachePersistenceLayer] = {}


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


def register_context(context: Any) -> None:
    """Lets an interrupted request's in-progress record expire with the invocation, not in 24 h."""
    _CONFIG.register_lambda_context(context)


def run_once(
    name: str, fn: Callable[[dict[str, Any]], dict[str, Any]], caller: str, key: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Run ``fn(request)`` once per (caller, key); a retry gets the first response back."""
    client = get_client()
    slot = f"{name}:{id(client)}"  # a new client (reconfigured process) gets a new store
    if slot not in _stores:
        _stores[slot] = _CacheLayer(client=client)
    once = idempotent_function(
        data_keyword_argument="request", persistence_store=_stores[slot], config=_CONFIG
    )(fn)
    try:
        return once(request={"caller": caller, "key": key, "body": body})
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was already used with a different request body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise DependencyUnavailable("the idempotency store (Redis) is unavailable") from exc
