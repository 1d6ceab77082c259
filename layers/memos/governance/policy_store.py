"""Policy storage: read a namespace's effective policy (cached briefly per process), write overrides."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from memos.governance import decay
from memos.governance.policy import DEFAULT_POLICY, Policy, merge
from memos.store import audit, db, policies

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_CACHE_TTL_S = 5.0
_cache: dict[str, tuple[float, Policy]] = {}


def get_policy(namespace: str, conn: psycopg.Connection[Any] | None = None) -> Policy:
    hit = _cache.get(namespace)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    if conn is None:
        with db.connection() as own:
            stored = policies.stored(own, namespace)
    else:
        stored = policies.stored(conn, namespace)
    policy = merge(stored) if stored is not None else DEFAULT_POLICY
    _cache[namespace] = (time.monotonic() + _CACHE_TTL_S, policy)
    return policy


def put_policy(
    namespace: str, overrides: dict[str, Any], *, actor: str | None, request_id: str | None
) -> Policy:
    """Validate and store overrides (merged with what is stored); audited with before and after."""
    with db.connection() as conn:
        before = policies.stored(conn, namespace, for_update=True) or {}
        stored = dict(before)
        for key, value in overrides.items():  # nested settings (weights, ttl_days) merge key by key
            stored[key] = (
                {**before[key], **value}
                if isinstance(value, dict) and isinstance(before.get(key), dict)
                else value
            )
        policy = merge(stored)  # raises pydantic.ValidationError on bad values
        policies.save(conn, namespace, stored)
        decay.replan(conn, namespace, policy)  # the namespace's forget times follow the new policy
        audit.record(
            conn,
            "policy_change",
            namespace=namespace,
            actor=actor,
            request_id=request_id,
            details={"before": before, "after": stored},
        )
        conn.commit()
    _cache.pop(namespace, None)
    return policy


def clear_cache() -> None:
    _cache.clear()
