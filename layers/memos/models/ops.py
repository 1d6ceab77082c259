"""Ops response models: the figures, pages and registry the ops console reads (see docs/OPS.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memos.models import NAME_PATTERN, DependencyStatus


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


# --------------------------------------------------------------------------- decay heatmap


class OpsDecayPolicy(BaseModel):
    """The namespace's policy as decay reads it (docs/GOVERNANCE.md)."""

    half_life_days: float
    min_importance: float  # a decaying memory below this is forgotten
    decay_kinds: list[str]
    ttl_days: dict[str, int | None]  # per kind; null = no TTL
    ttl_from: str  # occurred_at | ingested_at: what the TTL and the age axis count from


class OpsDecayBucket(BaseModel):
    index: int
    label: str
    low: float  # inclusive
    high: float | None  # exclusive; null = no upper bound


class OpsDecayCell(BaseModel):
    age_bucket: int
    importance_bucket: int
    count: int
    soonest_forget_days: float | None  # the cell's memory closest to being forgotten; null = none will be
    state: Literal["near", "fading", "safe", "kept"]  # ≤ 7 days, ≤ 30 days, later, never


class OpsForgottenCounts(BaseModel):
    """Memories that left every read path: counts only, never their text."""

    expired: int  # decayed below the floor or past their TTL
    deleted: int


class OpsDecayMap(BaseModel):
    namespace: str
    session_id: str | None
    generated_at: datetime
    policy: OpsDecayPolicy
    age_buckets: list[OpsDecayBucket]  # days since occurred_at (or ingestion, with ttl_from)
    importance_buckets: list[OpsDecayBucket]  # current importance
    cells: list[OpsDecayCell]  # non-empty cells only
    live: int  # live memories in scope
    scanned: int  # the newest ``scanned`` of them are laid out (bounded)
    truncated: bool
    kept_for_history: dict[str, int]  # duplicate, superseded
    forgotten: OpsForgottenCounts


class OpsDecayMemory(BaseModel):
    memory_id: UUID
    session_id: str
    kind: str
    role: str
    text: str  # the first 160 characters (live memories only)
    base_importance: float
    stored_importance: float  # as the last decay pass left it
    importance: float  # now, by the decay formula
    access_count: int
    idle_since: datetime  # the later of ingestion and the last retrieval
    occurred_at: datetime
    age_days: float
    forget_in_days: float | None  # null: neither decay nor a TTL will forget it
    forget_by: Literal["decay", "ttl"] | None
    why: str


class OpsDecayMemoryPage(BaseModel):
    age_bucket: int | None
    importance_bucket: int | None
    memories: list[OpsDecayMemory]  # soonest forgotten first
    next_cursor: str | None


# --------------------------------------------------------------------------- embedding map


class OpsProjection(BaseModel):
    method: Literal["pca"] = "pca"
    dims: int  # the embedding's dimensions
    sample_size: int  # vectors the axes were fitted on
    mappable: int  # memories that can be plotted (live, duplicate, superseded)
    explained_variance: list[float]  # share of the sample's variance on each axis
    computed_at: datetime
    cached: bool  # served from the process cache (same mappable set, fitted within its TTL)


class OpsMapPoint(BaseModel):
    memory_id: UUID
    x: float  # in [-1, 1]: the sample's extent on each axis (points outside it are clipped)
    y: float
    layer: Literal["L1", "L2"]  # L1: in its session's window of recent turns
    kind: str
    status: str  # active | duplicate | superseded
    session_id: str
    role: str
    text: str  # the first 160 characters
    duplicate_of: UUID | None
    superseded_by: UUID | None


class OpsEmbeddingMap(BaseModel):
    namespace: str
    session_id: str | None
    projection: OpsProjection
    points: list[OpsMapPoint]
    by_status: dict[str, int]  # mappable memories by status
    forgotten: OpsForgottenCounts
    next_cursor: str | None


class OpsMapQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(pattern=NAME_PATTERN)
    query: str = Field(min_length=1, max_length=2000)
    session_id: str | None = Field(None, pattern=NAME_PATTERN)
    top_k: int = Field(8, ge=1, le=100)


class OpsMapCandidate(BaseModel):
    memory_id: UUID
    x: float
    y: float
    rank: int | None = None  # kept results: 1 = best
    score: float | None = None
    layer: str | None = None
    reason: str | None = None  # filtered candidates: why they were dropped


class OpsMapQuery(BaseModel):
    query_id: UUID
    query: str
    x: float
    y: float
    kept: list[OpsMapCandidate]
    filtered: list[OpsMapCandidate]  # plotted: live, duplicate and superseded candidates
    forgotten_filtered: int  # expired candidates the query reached: a count, never plotted
    projection: OpsProjection
