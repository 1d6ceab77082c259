"""Ops reads: stats, pipeline, audit, condensations, context packs, the procedural registry, and
the console's memory maps (decay heatmap, embedding map).

Every list route takes an optional ``namespace``; without it a read covers every namespace the
key's grant allows (see memos.ops.visible.Visible). The maps are of one namespace, which they
require. What each figure means: docs/OPS.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from functions.shared.api import identity, make_app, request_id, run
from memos.governance import access_audit
from memos.kernel.observability import logger, metrics
from memos.models import NAME_PATTERN
from memos.models.ops import (
    OpsAuditPage,
    OpsCondensationPage,
    OpsContextPackPage,
    OpsDecayMap,
    OpsDecayMemoryPage,
    OpsEmbeddingMap,
    OpsMapQuery,
    OpsMapQueryRequest,
    OpsPipeline,
    OpsProcedural,
    OpsStats,
)
from memos.ops import decay_map, embedding_map, pages
from memos.ops.pipeline import pipeline
from memos.ops.procedural import procedural
from memos.ops.stats import stats
from memos.ops.visible import Visible
from memos.store import audit

app = make_app()

NamespaceParam = Annotated[str | None, Query(pattern=NAME_PATTERN, description="only this namespace")]
SessionParam = Annotated[str | None, Query(pattern=NAME_PATTERN)]
MapNamespaceParam = Annotated[str, Query(pattern=NAME_PATTERN, description="the namespace to map")]
BucketParam = Annotated[int | None, Query(ge=0, le=20, description="index into the map's buckets")]
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


@app.get("/v1/ops/decay", summary="Decay heatmap: live memories by age and current importance")
def get_decay(namespace: MapNamespaceParam, session_id: SessionParam = None) -> OpsDecayMap:
    return decay_map.decay_map(namespace, session_id)


@app.get("/v1/ops/decay/memories", summary="The memories of a decay heatmap cell, soonest forgotten first")
def get_decay_memories(
    namespace: MapNamespaceParam,
    session_id: SessionParam = None,
    age_bucket: BucketParam = None,
    importance_bucket: BucketParam = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{1,9}$", description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OpsDecayMemoryPage:
    return decay_map.decay_memories(namespace, session_id, age_bucket, importance_bucket, cursor, limit)


@app.get("/v1/ops/embedding_map", summary="Memories projected by meaning (PCA of a sample), cursor paging")
def get_embedding_map(
    namespace: MapNamespaceParam,
    session_id: SessionParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> OpsEmbeddingMap:
    return embedding_map.embedding_map(namespace, session_id, cursor, limit)


@app.post("/v1/ops/embedding_map/query", summary="A query placed on the embedding map with its candidates")
def post_embedding_map_query(body: OpsMapQueryRequest) -> OpsMapQuery:
    # A real query: audited as POST /v1/query is.
    reader = access_audit.Reader("query", identity(app).key_id, request_id(app), via="ops/embedding_map")
    overlay, _resp = embedding_map.query_overlay(body, reader)
    return overlay


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(app, event, context)
