"""Pydantic models of the v1 API: requests, responses and the domain records they carry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from memos.governance.policy import Policy
from memos.kernel.config import get_settings

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
# The settings decide these limits (MEMOS_MAX_TEXT_CHARS, MEMOS_MAX_BATCH_ITEMS), read once when the
# models are built at cold start, so validation and the OpenAPI document both state them.
MAX_TEXT_CHARS = get_settings().max_text_chars
MAX_BATCH_ITEMS = get_settings().max_batch_items

Namespace = Annotated[str, Field(pattern=NAME_PATTERN, description="1-128 chars of [A-Za-z0-9_.:@-]")]
SessionId = Annotated[str, Field(pattern=NAME_PATTERN)]
Role = Literal["user", "assistant", "agent", "system", "tool"]
Kind = Literal["episodic", "semantic", "procedural"]
Layer = Literal["L1", "L2", "L3"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _no_nul_deep(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL characters, in values or keys."""
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(str(k))
            _no_nul_deep(v)
    elif isinstance(value, list):
        for v in value:
            _no_nul_deep(v)
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Metadata = Annotated[dict[str, Any], AfterValidator(_no_nul_deep)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("timestamps must include a timezone (ISO 8601, e.g. 2024-05-01T10:00:00Z)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryFields(Strict):
    role: Role
    text: Text = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata = Field(default_factory=dict)
    occurred_at: AwareDatetime | None = None
    kind: Kind = "episodic"
    importance: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _text_not_blank(self) -> MemoryFields:
        if not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class IngestItem(MemoryFields):
    session_id: SessionId


class IngestRequest(Strict):
    """One memory (session_id, role, text, ...) or a batch (items)."""

    namespace: Namespace
    session_id: SessionId | None = None
    role: Role | None = None
    text: Text | None = Field(None, max_length=MAX_TEXT_CHARS)
    metadata: Metadata | None = None
    occurred_at: AwareDatetime | None = None
    kind: Kind | None = None
    importance: float | None = Field(None, ge=0, le=1)
    items: list[IngestItem] | None = Field(None, min_length=1, max_length=MAX_BATCH_ITEMS)

    @model_validator(mode="after")
    def _single_or_batch(self) -> IngestRequest:
        single = [
            self.session_id,
            self.role,
            self.text,
            self.metadata,
            self.occurred_at,
            self.kind,
            self.importance,
        ]
        if self.items is not None:
            if any(v is not None for v in single):
                raise ValueError("send either one memory (session_id, role, text) or items, not both")
        elif self.session_id is None or self.role is None or self.text is None:
            raise ValueError("a single memory needs session_id, role and text (or send items)")
        elif not self.text.strip():
            raise ValueError("text must not be blank")
        return self

    def __repr__(self) -> str:
        # Powertools formats every route's arguments into a debug message before it checks the log
        # level: pydantic's repr of a 500-item batch took ~3 ms of CPU a request. Short, and no
        # memory's text in a log line.
        what = f"items={len(self.items)}" if self.items is not None else f"session_id={self.session_id!r}"
        return f"IngestRequest(namespace={self.namespace!r}, {what})"

    def as_items(self) -> list[IngestItem]:
        if self.items is not None:
            return self.items
        fields = {k: v for k, v in self.model_dump(exclude={"namespace", "items"}).items() if v is not None}
        return [IngestItem.model_validate(fields)]


class IngestedMemory(BaseModel):
    memory_id: UUID
    status: Literal["created", "duplicate", "superseded"]
    duplicate_of: UUID | None = None
    supersedes: UUID | None = None


class IngestResponse(BaseModel):
    accepted: int
    memories: list[IngestedMemory]
    condensation_enqueued: bool


class QueryFilters(Strict):
    roles: list[Role] | None = None
    kinds: list[Kind] | None = None
    session_ids: list[SessionId] | None = Field(None, max_length=100)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    metadata: Annotated[dict[str, str | int | float | bool], AfterValidator(_no_nul_deep)] | None = None


class _SessionScope(Strict):
    """``scope: "session"`` needs the session it names."""

    session_id: SessionId | None = None
    scope: Literal["namespace", "session"] = "namespace"

    @model_validator(mode="after")
    def _session_scope_needs_session(self) -> _SessionScope:
        if self.scope == "session" and not self.session_id:
            raise ValueError("scope 'session' needs a session_id")
        return self


class QueryRequest(_SessionScope):
    namespace: Namespace
    query: Text = Field(min_length=1, max_length=4_000)
    top_k: int = Field(8, ge=1, le=100)
    token_budget: int | None = Field(None, ge=50, le=32_000)
    filters: QueryFilters | None = None
    include_filtered: bool = False
    as_of: AwareDatetime | None = Field(
        None,
        description="answer as of this time: memories that occurred by then, and the facts that were"
        " current then (a fact superseded later counts; one superseded by then does not)",
    )
    history: bool | None = Field(
        None,
        description="also retrieve facts that newer ones replaced; default: when the question asks"
        ' about the past ("used to", "before", "have I lived", "previous")',
    )


class MemoryOut(BaseModel):
    memory_id: UUID
    namespace: str
    session_id: str
    role: Role
    kind: Kind
    text: str
    metadata: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    importance: float
    status: str
    duplicate_of: UUID | None = None
    superseded_by: UUID | None = None


class QueryResult(BaseModel):
    memory_id: UUID
    layer: Layer
    kind: Kind
    session_id: str
    role: Role
    text: str
    occurred_at: datetime
    metadata: dict[str, Any]
    score: float
    components: dict[str, float]


class FilteredCandidate(BaseModel):
    memory_id: UUID
    reason: str
    score: float | None = None  # the absolute score it had (retrieval/scoring.py), when it was ranked


class ContextPack(BaseModel):
    id: UUID
    text: str
    tokens: int
    summary: str | None
    l1_window: list[dict[str, Any]]
    items: list[dict[str, Any]]
    entities: list[dict[str, Any]]


class TokenUsage(BaseModel):
    candidates: int
    packed: int
    saved: int
    ratio: float


class QueryResponse(BaseModel):
    query_id: UUID
    results: list[QueryResult]
    filtered: list[FilteredCandidate]
    context_pack: ContextPack
    token_usage: TokenUsage
    timings_ms: dict[str, float]


class DependencyStatus(BaseModel):
    status: Literal["ok", "down"]
    latency_ms: float | None = None
    detail: str | None = None


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    dependencies: dict[str, DependencyStatus]


class MemoryPage(BaseModel):
    memories: list[MemoryOut]
    next_cursor: str | None


class MemoryPatch(Strict):
    text: Text | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata | None = None
    importance: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _something_to_change(self) -> MemoryPatch:
        if not self.model_fields_set & {"text", "metadata", "importance"}:
            raise ValueError("send at least one of text, metadata, importance")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        for field in ("text", "metadata", "importance"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class SessionReset(Strict):
    namespace: Namespace
    session_id: SessionId
    confirm: bool = False
    dry_run: bool = False
    clear_audit: bool = False


class AnswerRequest(_SessionScope):
    namespace: Namespace
    question: Text = Field(min_length=1, max_length=4_000)
    top_k: int = Field(8, ge=1, le=100)
    token_budget: int | None = Field(None, ge=50, le=32_000)
    filters: QueryFilters | None = None
    as_of: AwareDatetime | None = Field(None, description="as in a query: what was current then")

    def as_query(self) -> QueryRequest:
        return QueryRequest(
            namespace=self.namespace,
            query=self.question,
            session_id=self.session_id,
            scope=self.scope,
            top_k=self.top_k,
            token_budget=self.token_budget,
            filters=self.filters,
            as_of=self.as_of,
        )


class AnswerResponse(BaseModel):
    answer: str
    citations: list[UUID]
    context_pack_id: UUID
    mode: Literal["extractive", "llm"]
    token_usage: TokenUsage


# Key administration (/v1/keys)

Scope = Literal["memory:write", "memory:read", "ops:read", "admin"]
NamespaceGrant = Annotated[
    str,
    Field(
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}\*?)$",
        description="an exact namespace, a prefix ending in *, or * for all",
    ),
]


class KeyCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$", description="who or what the key is for"
    )
    scopes: list[Scope] = Field(min_length=1, max_length=4)
    namespaces: list[NamespaceGrant] = Field(min_length=1, max_length=100)


class KeyOut(BaseModel):
    """A key's record: never its hash, never its plaintext."""

    key_id: UUID
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it in a list")
    scopes: list[str]
    namespaces: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> KeyOut:
        return cls(key_id=row["id"], **{k: v for k, v in row.items() if k != "id"})


class KeyCreated(KeyOut):
    key: str = Field(description="the plaintext key; shown once, only its SHA-256 is stored")


class KeyList(BaseModel):
    keys: list[KeyOut]


# Governance (/v1/policy, /v1/entities)


class PolicyUpdate(BaseModel):
    """A partial policy: only the keys given change; nested objects (weights, ttl_days) merge by key."""

    model_config = ConfigDict(extra="forbid")

    namespace: Namespace
    settings: dict[str, Any] = Field(min_length=1, description="keys of the policy to override")


class PolicyOut(BaseModel):
    namespace: str
    policy: Policy
    overridden: list[str] = Field(description="dotted keys that differ from the documented defaults' source")
    version: int = Field(0, description="0 while the namespace uses the defaults only")
    updated_at: datetime | None = None


class RelationOut(BaseModel):
    subject: str
    predicate: str
    object: str
    evidence: list[UUID]


class EntityOut(BaseModel):
    entity_id: UUID
    name: str
    normalized: str
    type: str
    aliases: list[str]
    mention_count: int
    evidence: list[UUID]
    first_seen: datetime
    last_seen: datetime
    relations: list[RelationOut]


class EntityPage(BaseModel):
    namespace: str
    entities: list[EntityOut]
