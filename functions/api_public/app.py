"""Public routes (no key): health and the OpenAPI document of every route."""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.routes import API_FUNCTIONS
from functions.shared import openapi
from functions.shared.api import make_app, run
from memos import __version__
from memos.kernel.observability import logger
from memos.models import HealthResponse
from memos.ops.health import health

app = make_app()


_HEALTH_DOC: Any = {"content": {"application/json": {"model": HealthResponse}}}


@app.get(
    "/v1/health",
    summary="Liveness and dependency status (503 when a dependency is down)",
    responses={
        200: {"description": "all dependencies up", **_HEALTH_DOC},
        503: {"description": "a dependency is down", **_HEALTH_DOC},
    },
)
def get_health():
    result = health()
    return Response(
        status_code=200 if result.status == "ok" else 503,
        content_type=content_types.APPLICATION_JSON,
        body=result.model_dump(mode="json"),
    )


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """Every API function's own generated schema, merged by Powertools, then completed from the
    route table (error statuses and non-JSON bodies, ``functions/shared/openapi.py``)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    merge = OpenAPIMerge(
        title="MemOS API",
        version=__version__,
        security_schemes={
            "bearer": HTTPBearer(),
            "apiKey": APIKey(name="x-api-key", **{"in": APIKeyIn.header}),
        },
        security=[{"bearer": []}, {"apiKey": []}],
        on_conflict="error",
    )
    for name in API_FUNCTIONS:  # only functions that serve routes
        module = importlib.import_module(f"functions.{name}.app")
        merge.add_schema(module.app.get_openapi_schema(title="MemOS API", version=__version__))
    return openapi.complete(json.loads(merge.get_openapi_json_schema()))


@app.get("/v1/openapi.json", summary="The OpenAPI document", include_in_schema=False)
def get_openapi():
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(openapi_document())
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
