"""Ops response models: the figures, pages and registry the ops console reads (see docs/OPS.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from memos.models import DependencyStatus


class OpsTokenFigures(BaseModel):
    """Tokens in vs tokens out for one source; ratios are null when there is nothing to divide."""

    count: int
    tokens_in: int
    tokens_out: int
    saved: int
    savings_ratio: float | None  # saved / tokens_in (0..1), as in a query's token_usage.ratio
    compression_ratio: float | None  # tokens_in / tokens_out (e.g. 4.0 = four times smaller)


class OpsTokenSavings(BaseModel):
    context_packs: OpsTokenFigures  # candidate tokens vs packed tokens, one row per query
    condensations: OpsTokenFigures  # turns' tokens vs summary tokens, done condensations only
    combined: OpsTokenFigures


class OpsMemoryCounts(BaseModel):
    total: int  # live L2 memories (active and not past expires_at)
    by_kind: dict[str, int]  # live only
    by_status: dict[str, int]  # every row; an active row past its expires_at counts as expired


class OpsL1Counts(BaseModel):
    active_sessions: int | None  # null when Redis is unreachable


class OpsL2Counts(BaseModel):
    memories: int
    by_kind: dict[str, int]


class OpsL3Counts(BaseModel):
    entities: int
    relations: int


class OpsLayerCounts(BaseModel):
    L1: OpsL1Counts
    L2: OpsL2Counts
    L3: OpsL3Counts


class OpsThroughputPoint(BaseModel):
    minute: datetime
    ingested: int  # memories stored (sum of the ingest audit events' details.count)
    queries: int  # context packs built (one per query)


class OpsStats(BaseModel):
    namespace: str | None
    generated_at: datetime
    memories: OpsMemoryCounts
    layers: OpsLayerCounts
    active_contexts: int | None
    tokens: OpsTokenSavings
    health: dict[str, DependencyStatus]
    queue_depth: int | None
    throughput: list[OpsThroughputPoint]


class OpsQueue(BaseModel):
    available: bool
    scope: Literal["service"] = "service"  # SQS counts every tenant's jobs
    depth: int | None = None  # ApproximateNumberOfMessages
    in_flight: int | None = None  # ApproximateNumberOfMessagesNotVisible
    dead_lettered: int | None = None  # the DLQ's ApproximateNumberOfMessages
    detail: str | None = None


class OpsCondensation(BaseModel):
    id: UUID
    job_id: str
    namespace: str
    session_id: str
    from_turn: int
    to_turn: int
    status: str
    summary: Any
    summary_text: str | None
    tokens_before: int | None
    tokens_after: int | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class OpsAuditEvent(BaseModel):
    id: int
    at: datetime
    namespace: str | None
    session_id: str | None
    action: str
    actor: str | None
    memory_id: UUID | None
    request_id: str | None
    details: dict[str, Any]


class OpsPipeline(BaseModel):
    namespace: str | None
    queue: OpsQueue
    pending_sessions: int  # sessions with a condensation job enqueued and not yet done
    condensations_by_status: dict[str, int]
    recent_condensations: list[OpsCondensation]
    recent_decay_runs: list[OpsAuditEvent]


class OpsAuditPage(BaseModel):
    events: list[OpsAuditEvent]
    next_cursor: str | None


class OpsCondensationPage(BaseModel):
    condensations: list[OpsCondensation]
    next_cursor: str | None


class OpsContextPack(BaseModel):
    id: UUID
    query_id: UUID
    namespace: str
    session_id: str | None
    query: str
    candidate_tokens: int
    packed_tokens: int
    created_at: datetime
    pack: dict[str, Any] | None = None  # only with include_pack=true


class OpsContextPackPage(BaseModel):
    context_packs: list[OpsContextPack]
    next_cursor: str | None


class OpsProceduralMemory(BaseModel):
    memory_id: UUID
    namespace: str
    session_id: str
    text: str
    metadata: dict[str, Any]
    importance: float
    occurred_at: datetime
    created_at: datetime


class OpsTool(BaseModel):
    name: str
    description: str
    namespace: str
    memory_id: UUID
    parameters: Any = None


class OpsProcedural(BaseModel):
    memories: list[OpsProceduralMemory]
    tools: list[OpsTool]
    next_cursor: str | None
