"""CloudFormation custom resource (CDK Provider ``on_event``): apply the SQL migrations on deploy.

The same ``apply_migrations`` backs ``memos migrate``. Delete is a no-op: data outlives stacks
unless the data construct's removal policy says otherwise.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from memos.config import get_settings
from memos.db import database_url
from memos.migrate import apply_migrations
from memos.observability import logger

PHYSICAL_ID = "memos-schema"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("RequestType")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    settings = get_settings()
    applied = apply_migrations(database_url(settings), settings.embed_dim)
    logger.info("migrations applied", extra={"applied": applied, "request": request})
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Applied": ",".join(applied) or "none"}}
