"""Ops reads: stats, pipeline, audit, condensations, context packs, the procedural registry.

Every route takes an optional ``namespace``; without it a read covers every namespace the key's
grant allows (see memos.ops.visible.Visible). What each figure means: docs/OPS.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from functions.shared.api import identity, make_app, run
from memos.kernel.observability import logger, metrics
from memos.models import NAME_PATTERN
from memos.models.ops import (
    OpsAuditPage,
    OpsCondensationPage,
    OpsContextPackPage,
    OpsPipeline,
    OpsProcedural,
    OpsStats,
)
from memos.ops import pages
from memos.ops.pipeline import pipeline
from memos.ops.procedural import procedural
from memos.ops.stats import stats
from memos.ops.visible import Visible
from memos.store import audit

app = make_app()

NamespaceParam = Annotated[str | None, Query(pattern=NAME_PATTERN, description="only this namespace")]
SessionParam = Annotated[str | None, Query(pattern=NAME_PATTERN)]
CursorParam = Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page")]


def _visible(namespace: str | None) -> Visible:
    return Visible(namespace, identity(app))


@app.get("/v1/ops/stats", summary="Memories by layer, kind and status; token savings; health; throughput")
def get_stats(namespace: NamespaceParam = None) -> OpsStats:
    return stats(_visible(namespace))


@app.get("/v1/ops/pipeline", summary="Condensation queue, recent condensations and decay runs")
def get_pipeline(
    namespace: NamespaceParam = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> OpsPipeline:
    return pipeline(_visible(namespace), limit)


@app.get("/v1/ops/audit", summary="Audit events, newest first, cursor paging")
def get_audit(
    namespace: NamespaceParam = None,
    session_id: SessionParam = None,
    action: Annotated[
        str | None,
        # The enum is documented (the console reads it); an unknown action is a 400 naming them.
        Query(pattern=r"^[a-z_]{1,40}$", json_schema_extra={"enum": sorted(audit.ACTIONS)}),
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="ISO 8601 with timezone, inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="ISO 8601 with timezone, exclusive")] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OpsAuditPage:
    visible = _visible(namespace)
    return pages.audit_events(
        visible, session_id=session_id, action=action, since=since, until=until, cursor=cursor, limit=limit
    )


@app.get("/v1/ops/condensations", summary="Session condensations (rolling summaries), newest first")
def get_condensations(
    namespace: NamespaceParam = None,
    session_id: SessionParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OpsCondensationPage:
    visible = _visible(namespace)
    return pages.condensations(visible, session_id=session_id, cursor=cursor, limit=limit)


@app.get("/v1/ops/context_packs", summary="Stored context packs, newest first (pack with include_pack=true)")
def get_context_packs(
    namespace: NamespaceParam = None,
    session_id: SessionParam = None,
    include_pack: Annotated[bool, Query()] = False,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OpsContextPackPage:
    visible = _visible(namespace)
    return pages.context_packs(
        visible, session_id=session_id, include_pack=include_pack, cursor=cursor, limit=limit
    )


@app.get("/v1/ops/procedural", summary="The prompt and tool registry: live procedural memories and tools")
def get_procedural(
    namespace: NamespaceParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OpsProcedural:
    return procedural(_visible(namespace), cursor=cursor, limit=limit)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
