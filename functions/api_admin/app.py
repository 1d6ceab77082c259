"""API key administration (scope admin): create, list, revoke — each within the caller's own grant."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.api import identity, make_app, run
from memos.access import keys_admin
from memos.kernel.observability import logger, metrics
from memos.models import KeyCreated, KeyCreateRequest, KeyList, KeyOut
from memos.store import db

app = make_app()


@app.post(
    "/v1/keys",
    summary="Create a key within the caller's grant; the plaintext is returned once",
    responses={201: {"description": "created", "content": {"application/json": {"model": KeyCreated}}}},
)
def create_key(body: KeyCreateRequest) -> Response[KeyCreated]:
    who = identity(app)
    with db.connection() as conn:
        key, row = keys_admin.create(conn, who, body.name, list(body.scopes), list(body.namespaces))
        conn.commit()
    created = KeyCreated(key=key, **KeyOut.from_row(row).model_dump())
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@app.get("/v1/keys", summary="Keys whose namespaces lie within the caller's grant (no secrets)")
def list_keys() -> KeyList:
    who = identity(app)
    with db.connection() as conn:
        rows = keys_admin.visible_keys(conn, who)
    return KeyList(keys=[KeyOut.from_row(r) for r in rows])


@app.delete("/v1/keys/<key_id>", summary="Revoke a key (refused at once here, within 5 s everywhere)")
def revoke_key(key_id: str) -> KeyOut:
    who = identity(app)
    with db.connection() as conn:
        row = keys_admin.revoke(conn, who, key_id)
        conn.commit()
    return KeyOut.from_row(row)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
