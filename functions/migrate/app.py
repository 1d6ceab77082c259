"""CloudFormation custom resource (CDK Provider ``on_event``): apply the SQL migrations on deploy.

The same ``apply_migrations`` backs ``memos migrate``. Delete is a no-op: data outlives stacks
unless the data construct's removal policy says otherwise.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from memos.kernel.config import get_settings
from memos.kernel.observability import logger
from memos.store.db import database_url
from memos.store.migrate import apply_migrations

PHYSICAL_ID = "memos-schema"


def create_first_key(event: dict[str, Any]) -> dict[str, Any]:
    """A direct invoke ``{"action": "create_key", "name", "scopes", "namespaces"}`` creates a key
    from inside the VPC (the only way in before any key exists). The plaintext is returned once."""
    from memos.access import auth
    from memos.store import db

    with db.connection() as conn:
        key, record = auth.create_key(
            conn,
            str(event.get("name") or "bootstrap"),
            list(event.get("scopes") or []),
            list(event.get("namespaces") or []),
            actor="migrate-invoke",
        )
        conn.commit()
    return {
        "key": key,
        "key_id": str(record["id"]),
        "scopes": record["scopes"],
        "namespaces": record["namespaces"],
    }


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "create_key":
        return create_first_key(event)
    request = event.get("RequestType")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    settings = get_settings()
    applied = apply_migrations(database_url(settings), settings.embed_dim)
    logger.info("migrations applied", extra={"applied": applied, "request": request})
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Applied": ",".join(applied) or "none"}}
