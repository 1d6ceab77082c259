"""One description per API route, shared by the sync and async clients: each function here has the
public signature of a client method and builds the request (method, path, query, body, how to read the
response); ``Paged`` describes a cursor iteration. Also the retry policy both clients follow. Request
and response types are the API's own models."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypedDict, TypeVar, Unpack
from uuid import UUID

from pydantic import BaseModel

from memos.memory.memories import MemoryHistory
from memos.memory.namespaces import NamespaceDeleted
from memos.memory.sessions import ResetResult
from memos.models import (
    AnswerRequest,
    AnswerResponse,
    EntityPage,
    HealthResponse,
    IngestRequest,
    IngestResponse,
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyOut,
    MemoryOut,
    MemoryPage,
    MemoryPatch,
    PolicyOut,
    PolicyUpdate,
    QueryRequest,
    QueryResponse,
    SessionReset,
)
from memos.models.ops import (
    OpsAuditEvent,
    OpsAuditPage,
    OpsCondensation,
    OpsCondensationPage,
    OpsContextPack,
    OpsContextPackPage,
    OpsPipeline,
    OpsProcedural,
    OpsStats,
)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 503})


def _raw(body: Any) -> Any:
    return body


@dataclass(frozen=True)
class Call(Generic[R]):
    method: str
    path: str
    read: Callable[[Any], R]  # the decoded body (JSON, or text when not JSON) to the result
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_statuses: frozenset[int] = RETRY_STATUSES
    ok_statuses: frozenset[int] = frozenset()  # non-2xx statuses that still carry the response model


@dataclass(frozen=True)
class Paged(Generic[T]):
    """A cursor iteration: the call for a cursor (None: the first page), and the items of a page."""

    page: Callable[[str | None], Call[Any]]
    items: Callable[[Any], list[T]]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a ``Retry-After`` from the server wins (capped at max_delay_s)."""

    max_retries: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(self.max_delay_s, max(0.0, retry_after_s))
        return min(self.max_delay_s, self.base_delay_s * 2**attempt * (0.5 + random.random() / 2))


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError):
        return None


def as_model(cls: type[M], request: M | dict[str, Any] | None, fields: dict[str, Any]) -> M:
    """A request model from a model instance, a dict, or keyword fields (validated here, before sending)."""
    if isinstance(request, BaseModel):
        base: dict[str, Any] = request.model_dump(exclude_unset=True)
    else:
        base = dict(request or {})
    return cls.model_validate({**base, **fields})


def _body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


def _query(**params: Any) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else str(v).lower() if isinstance(v, bool) else v)
        for k, v in params.items()
        if v is not None
    }


def _get(path: str, model: type[M], **params: Any) -> Call[M]:
    return Call("GET", path, model.model_validate, params=_query(**params))


# -- public and memory
def health() -> Call[HealthResponse]:
    return Call(
        "GET",
        "/v1/health",
        HealthResponse.model_validate,
        retry_statuses=frozenset({429}),
        ok_statuses=frozenset({503}),
    )


def openapi() -> Call[dict[str, Any]]:
    return Call("GET", "/v1/openapi.json", _raw)


def ingest(
    request: IngestRequest | dict[str, Any] | None = None,
    /,
    *,
    idempotency_key: str | None = None,
    **fields: Any,
) -> Call[IngestResponse]:
    # One key per logical write, reused by every retry: the server stores the write once.
    key = idempotency_key or str(uuid.uuid4())
    body = _body(as_model(IngestRequest, request, fields))
    return Call(
        "POST", "/v1/ingest", IngestResponse.model_validate, body=body, headers={"Idempotency-Key": key}
    )


def list_memories(
    namespace: str,
    *,
    session_id: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[MemoryPage]:
    return _get(
        "/v1/memories",
        MemoryPage,
        namespace=namespace,
        session_id=session_id,
        kind=kind,
        cursor=cursor,
        limit=limit,
    )


def iter_memories(
    namespace: str, *, session_id: str | None = None, kind: str | None = None, page_size: int = 100
) -> Paged[MemoryOut]:
    return Paged(
        lambda c: list_memories(namespace, session_id=session_id, kind=kind, cursor=c, limit=page_size),
        lambda p: p.memories,
    )


def get_memory(memory_id: UUID | str) -> Call[MemoryOut]:
    return _get(f"/v1/memories/{memory_id}", MemoryOut)


def update_memory(
    memory_id: UUID | str, patch: MemoryPatch | dict[str, Any] | None = None, /, **fields: Any
) -> Call[MemoryOut]:
    body = _body(as_model(MemoryPatch, patch, fields))
    return Call("PATCH", f"/v1/memories/{memory_id}", MemoryOut.model_validate, body=body)


def _none(body: Any) -> None:
    return None


def delete_memory(memory_id: UUID | str) -> Call[None]:
    return Call("DELETE", f"/v1/memories/{memory_id}", _none)


def memory_history(memory_id: UUID | str) -> Call[MemoryHistory]:
    return _get(f"/v1/memories/{memory_id}/history", MemoryHistory)


def reset_session(
    request: SessionReset | dict[str, Any] | None = None, /, **fields: Any
) -> Call[ResetResult]:
    body = _body(as_model(SessionReset, request, fields))
    return Call("POST", "/v1/sessions/reset", ResetResult.model_validate, body=body)


def delete_namespace(namespace: str) -> Call[NamespaceDeleted]:
    return Call("DELETE", f"/v1/namespaces/{namespace}", NamespaceDeleted.model_validate)


def parse_export(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def export_namespace(namespace: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", f"/v1/namespaces/{namespace}/export", parse_export)


# -- retrieval
def query(request: QueryRequest | dict[str, Any] | None = None, /, **fields: Any) -> Call[QueryResponse]:
    body = _body(as_model(QueryRequest, request, fields))
    return Call("POST", "/v1/query", QueryResponse.model_validate, body=body)


def answer(request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any) -> Call[AnswerResponse]:
    body = _body(as_model(AnswerRequest, request, fields))
    return Call("POST", "/v1/answer", AnswerResponse.model_validate, body=body)


def answer_stream(request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any) -> Call[Any]:
    """Events as they arrive: ``context``, ``delta``..., ``done`` (``event.answer`` is the whole answer)."""
    body = _body(as_model(AnswerRequest, request, fields))
    return Call("POST", "/v1/answer/stream", _raw, body=body, headers={"Accept": "text/event-stream"})


# -- governance
def get_policy(namespace: str) -> Call[PolicyOut]:
    return Call("GET", "/v1/policy", PolicyOut.model_validate, params={"namespace": namespace})


def put_policy(namespace: str, settings: dict[str, Any]) -> Call[PolicyOut]:
    body = _body(PolicyUpdate(namespace=namespace, settings=settings))
    return Call("PUT", "/v1/policy", PolicyOut.model_validate, body=body)


def entities(namespace: str, *, q: str | None = None, limit: int | None = None) -> Call[EntityPage]:
    return _get("/v1/entities", EntityPage, namespace=namespace, q=q, limit=limit)


# -- ops
def ops_stats(namespace: str | None = None) -> Call[OpsStats]:
    return _get("/v1/ops/stats", OpsStats, namespace=namespace)


def ops_pipeline(namespace: str | None = None, *, limit: int | None = None) -> Call[OpsPipeline]:
    return _get("/v1/ops/pipeline", OpsPipeline, namespace=namespace, limit=limit)


class AuditFilters(TypedDict, total=False):
    """The filters of an audit listing (each optional)."""

    session_id: str | None
    action: str | None
    since: datetime | None
    until: datetime | None


def ops_audit(
    namespace: str | None = None,
    *,
    cursor: str | None = None,
    limit: int | None = None,
    **filters: Unpack[AuditFilters],
) -> Call[OpsAuditPage]:
    return _get("/v1/ops/audit", OpsAuditPage, namespace=namespace, **filters, cursor=cursor, limit=limit)


def iter_audit(
    namespace: str | None = None, *, page_size: int = 200, **filters: Unpack[AuditFilters]
) -> Paged[OpsAuditEvent]:
    return Paged(lambda c: ops_audit(namespace, cursor=c, limit=page_size, **filters), lambda p: p.events)


def ops_condensations(
    namespace: str | None = None,
    *,
    session_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[OpsCondensationPage]:
    params = {"session_id": session_id, "cursor": cursor, "limit": limit}
    return _get("/v1/ops/condensations", OpsCondensationPage, namespace=namespace, **params)


def iter_condensations(
    namespace: str | None = None, *, session_id: str | None = None, page_size: int = 100
) -> Paged[OpsCondensation]:
    return Paged(
        lambda c: ops_condensations(namespace, session_id=session_id, cursor=c, limit=page_size),
        lambda p: p.condensations,
    )


def ops_context_packs(
    namespace: str | None = None,
    *,
    session_id: str | None = None,
    include_pack: bool = False,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[OpsContextPackPage]:
    params = {"session_id": session_id, "include_pack": include_pack, "cursor": cursor, "limit": limit}
    return _get("/v1/ops/context_packs", OpsContextPackPage, namespace=namespace, **params)


def iter_context_packs(
    namespace: str | None = None,
    *,
    session_id: str | None = None,
    include_pack: bool = False,
    page_size: int = 100,
) -> Paged[OpsContextPack]:
    return Paged(
        lambda c: ops_context_packs(
            namespace, session_id=session_id, include_pack=include_pack, cursor=c, limit=page_size
        ),
        lambda p: p.context_packs,
    )


def ops_procedural(
    namespace: str | None = None, *, cursor: str | None = None, limit: int | None = None
) -> Call[OpsProcedural]:
    return _get("/v1/ops/procedural", OpsProcedural, namespace=namespace, cursor=cursor, limit=limit)


# -- keys
def create_key(name: str, scopes: list[str], namespaces: list[str]) -> Call[KeyCreated]:
    req = KeyCreateRequest.model_validate({"name": name, "scopes": scopes, "namespaces": namespaces})
    return Call("POST", "/v1/keys", KeyCreated.model_validate, body=_body(req))


def list_keys() -> Call[KeyList]:
    return _get("/v1/keys", KeyList)


def revoke_key(key_id: UUID | str) -> Call[KeyOut]:
    return Call("DELETE", f"/v1/keys/{key_id}", KeyOut.model_validate)
