"""Governance: per-namespace policy (read, partial update) and the L3 entities."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.api import identity, make_app, request_id, run
from memos.governance import entities, policy_store
from memos.governance.policy import merge
from memos.kernel.errors import Unprocessable
from memos.kernel.observability import logger, metrics
from memos.models import NAME_PATTERN, EntityOut, EntityPage, PolicyOut, PolicyUpdate
from memos.store import db, policies

app = make_app()


def _stored(namespace: str) -> dict[str, Any] | None:
    with db.connection() as conn:
        return policies.stored_row(conn, namespace)


def _overridden(settings: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            keys += [f"{key}.{sub}" for sub in value]
        else:
            keys.append(key)
    return sorted(keys)


def _policy_out(namespace: str) -> PolicyOut:
    # Read the row itself (not the 5 s per-process cache) so a change shows at once everywhere.
    row = _stored(namespace)
    settings = row["settings"] if row else {}
    return PolicyOut(
        namespace=namespace,
        policy=merge(settings),
        overridden=_overridden(settings),
        version=row["version"] if row else 0,
        updated_at=row["updated_at"] if row else None,
    )


@app.get("/v1/policy", summary="The namespace's effective policy and which keys it overrides")
def get_policy(namespace: Annotated[str, Query(pattern=NAME_PATTERN)]) -> PolicyOut:
    return _policy_out(namespace)


@app.put("/v1/policy", summary="Override policy keys (validated, audited with before and after)")
def put_policy(body: PolicyUpdate) -> PolicyOut:
    who = identity(app)
    row = _stored(body.namespace)
    before = row["settings"] if row else {}
    # Nested objects merge key by key, so {"weights": {"entity": 0.2}} keeps other stored weights.
    overrides = {
        k: {**before[k], **v} if isinstance(v, dict) and isinstance(before.get(k), dict) else v
        for k, v in body.settings.items()
    }
    try:
        policy_store.put_policy(body.namespace, overrides, actor=who.key_id, request_id=request_id(app))
    except pydantic.ValidationError as exc:
        details = [
            {
                "field": ".".join(["settings", *(str(p) for p in e["loc"])]),
                "type": e["type"],
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        raise Unprocessable("invalid policy settings", details=details) from exc
    metrics.add_metric(name="PolicyChanges", unit="Count", value=1)
    return _policy_out(body.namespace)


@app.get("/v1/entities", summary="L3 entities with relations and evidence memory ids")
def get_entities(
    namespace: Annotated[str, Query(pattern=NAME_PATTERN)],
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EntityPage:
    with db.connection() as conn:
        rows = entities.list_entities(conn, namespace, q, limit)
    return EntityPage(
        namespace=namespace,
        entities=[EntityOut.model_validate({**r, "entity_id": r["id"]}) for r in rows],
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
