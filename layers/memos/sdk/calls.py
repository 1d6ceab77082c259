"""One description per API route (method, path, query, body, response model), shared by the sync and
async clients, and the retry policy both follow. Request and response types are the API's own models."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

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
    OpsAuditPage,
    OpsCondensationPage,
    OpsContextPackPage,
    OpsPipeline,
    OpsProcedural,
    OpsStats,
)

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    response: type[BaseModel] | None  # None: no JSON body (204, JSON Lines, event streams)
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_statuses: frozenset[int] = RETRY_STATUSES
    ok_statuses: frozenset[int] = frozenset()  # non-2xx statuses that still carry the response model


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


def health() -> Call:
    return Call(
        "GET", "/v1/health", HealthResponse, retry_statuses=frozenset({429}), ok_statuses=frozenset({503})
    )


def ingest(req: IngestRequest, idempotency_key: str | None) -> Call:
    # One key per logical write, reused by every retry: the server stores the write once.
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "/v1/ingest", IngestResponse, body=_body(req), headers={"Idempotency-Key": key})


def list_memories(
    namespace: str, session_id: str | None, kind: str | None, cursor: str | None, limit: int | None
) -> Call:
    params = _query(namespace=namespace, session_id=session_id, kind=kind, cursor=cursor, limit=limit)
    return Call("GET", "/v1/memories", MemoryPage, params=params)


def get_memory(memory_id: Any) -> Call:
    return Call("GET", f"/v1/memories/{memory_id}", MemoryOut)


def update_memory(memory_id: Any, patch: MemoryPatch) -> Call:
    return Call("PATCH", f"/v1/memories/{memory_id}", MemoryOut, body=_body(patch))


def delete_memory(memory_id: Any) -> Call:
    return Call("DELETE", f"/v1/memories/{memory_id}", None)


def memory_history(memory_id: Any) -> Call:
    return Call("GET", f"/v1/memories/{memory_id}/history", MemoryHistory)


def reset_session(req: SessionReset) -> Call:
    return Call("POST", "/v1/sessions/reset", ResetResult, body=_body(req))


def delete_namespace(namespace: str) -> Call:
    return Call("DELETE", f"/v1/namespaces/{namespace}", NamespaceDeleted)


def export_namespace(namespace: str) -> Call:
    return Call("GET", f"/v1/namespaces/{namespace}/export", None)


def query(req: QueryRequest) -> Call:
    return Call("POST", "/v1/query", QueryResponse, body=_body(req))


def answer(req: AnswerRequest) -> Call:
    return Call("POST", "/v1/answer", AnswerResponse, body=_body(req))


def answer_stream(req: AnswerRequest) -> Call:
    return Call("POST", "/v1/answer/stream", None, body=_body(req), headers={"Accept": "text/event-stream"})


def get_policy(namespace: str) -> Call:
    return Call("GET", "/v1/policy", PolicyOut, params={"namespace": namespace})


def put_policy(update: PolicyUpdate) -> Call:
    return Call("PUT", "/v1/policy", PolicyOut, body=_body(update))


def entities(namespace: str, q: str | None, limit: int | None) -> Call:
    return Call("GET", "/v1/entities", EntityPage, params=_query(namespace=namespace, q=q, limit=limit))


def ops_stats(namespace: str | None) -> Call:
    return Call("GET", "/v1/ops/stats", OpsStats, params=_query(namespace=namespace))


def ops_pipeline(namespace: str | None, limit: int | None) -> Call:
    return Call("GET", "/v1/ops/pipeline", OpsPipeline, params=_query(namespace=namespace, limit=limit))


def ops_audit(
    namespace: str | None,
    session_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int | None,
) -> Call:
    params = _query(
        namespace=namespace,
        session_id=session_id,
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return Call("GET", "/v1/ops/audit", OpsAuditPage, params=params)


def ops_condensations(
    namespace: str | None, session_id: str | None, cursor: str | None, limit: int | None
) -> Call:
    params = _query(namespace=namespace, session_id=session_id, cursor=cursor, limit=limit)
    return Call("GET", "/v1/ops/condensations", OpsCondensationPage, params=params)


def ops_context_packs(
    namespace: str | None, session_id: str | None, include_pack: bool, cursor: str | None, limit: int | None
) -> Call:
    params = _query(
        namespace=namespace, session_id=session_id, include_pack=include_pack, cursor=cursor, limit=limit
    )
    return Call("GET", "/v1/ops/context_packs", OpsContextPackPage, params=params)


def ops_procedural(namespace: str | None, cursor: str | None, limit: int | None) -> Call:
    params = _query(namespace=namespace, cursor=cursor, limit=limit)
    return Call("GET", "/v1/ops/procedural", OpsProcedural, params=params)


def create_key(req: KeyCreateRequest) -> Call:
    return Call("POST", "/v1/keys", KeyCreated, body=_body(req))


def list_keys() -> Call:
    return Call("GET", "/v1/keys", KeyList)


def revoke_key(key_id: Any) -> Call:
    return Call("DELETE", f"/v1/keys/{key_id}", KeyOut)


def openapi() -> Call:
    return Call("GET", "/v1/openapi.json", None)


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event of ``/v1/answer/stream``: ``context``, ``delta`` (``text``), or ``done``
    (whose data is the whole AnswerResponse, parsed into ``answer``)."""

    event: str
    data: dict[str, Any]
    answer: AnswerResponse | None = None

    @property
    def text(self) -> str:
        return str(self.data.get("text", ""))


class SseParser:
    """Incremental text/event-stream parsing: feed lines, get events at each blank line."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> Iterator[StreamEvent]:
        line = line.rstrip("\r\n")
        if line == "":
            if self._data:
                data = json.loads("\n".join(self._data))
                done = AnswerResponse.model_validate(data) if self._event == "done" else None
                yield StreamEvent(self._event, data, done)
            self._event, self._data = "message", []
        elif line.startswith(":"):
            return
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)


def parse_export(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
