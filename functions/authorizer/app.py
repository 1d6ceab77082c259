"""API Gateway REQUEST authorizer: validates the key, hands the caller identity to handlers.

Scopes and namespaces are enforced by the functions' access middleware (functions/shared/access.py)
before a handler touches data; this function only says who is calling. The local server calls ``authorize`` with the same headers.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import snapstart  # noqa: F401  (registers the SnapStart hooks in Lambda)
from memos.access import auth
from memos.access.auth import Identity
from memos.kernel.errors import Unauthorized
from memos.kernel.observability import logger
from memos.store import db


def authorize(headers: dict[str, str] | None) -> Identity:
    """The caller behind these headers; raises Unauthorized.

    Valid keys are cached for ``auth.KEY_CACHE_TTL_S`` (5 s), the bound within which a revocation
    made by another process takes effect here (docs/SECURITY.md)."""
    key = auth.extract_key(headers)
    if not key:
        raise Unauthorized("missing API key: send Authorization: Bearer <key> or x-api-key")
    digest = auth.hash_key(key)
    who = auth.key_cache.get(digest)
    if who is not None:
        return who
    with db.connection() as conn:
        who = auth.authenticate(conn, key)
        conn.commit()
    auth.key_cache.put(digest, who)
    return who


def forget_cached_keys() -> None:
    auth.key_cache.clear()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        who = authorize(event.get("headers"))
    except Unauthorized as exc:
        raise Exception("Unauthorized") from exc  # API Gateway's contract for a 401
    # Allow the whole API for this key: one decision serves every route (scopes are the
    # functions' access middleware's, from the route table).
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        event.get("methodArn", ""), principal_id=who.key_id, context=who.to_context()
    )
    policy.allow_all_routes()
    return policy.asdict()
