"""``MemosClient`` (sync) and ``AsyncMemosClient`` over httpx, one method per API route.

Both retry 429 and 503 with backoff (honoring ``Retry-After``), send an ``Idempotency-Key`` with every
ingest (the same key on each retry), raise typed errors carrying the API's error code, iterate over
cursor pages, and stream ``/v1/answer/stream`` as an iterator of events.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

import httpx

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
from memos.sdk import calls
from memos.sdk.calls import Call, RetryPolicy, SseParser, StreamEvent, as_model, parse_retry_after
from memos.sdk.errors import ConnectionFailedError, MemosApiError, error_for

T = TypeVar("T")
RetryHook = Callable[[Call, int, MemosApiError], None]  # (call, attempt, the error that is retried)
DEFAULT_URL = "http://127.0.0.1:8080"


class _Base:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        retry: RetryPolicy | None,
        on_retry: RetryHook | None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("MEMOS_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("MEMOS_API_KEY")
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.retries = 0  # requests retried after a 429/503 or a failed connection, over this client's life

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @staticmethod
    def _error(resp: httpx.Response, body: Any) -> MemosApiError:
        return error_for(
            resp.status_code,
            body,
            resp.headers.get("x-request-id"),
            parse_retry_after(resp.headers.get("Retry-After")),
        )

    @classmethod
    def _decode(cls, call: Call, resp: httpx.Response) -> Any:
        ctype = resp.headers.get("content-type", "")
        body: Any = resp.json() if "json" in ctype and resp.content else resp.text
        if resp.status_code >= 400 and resp.status_code not in call.ok_statuses:
            raise cls._error(resp, body)
        if call.response is None:
            return body
        return call.response.model_validate(body)

    def _should_retry(self, call: Call, attempt: int, err: MemosApiError) -> float | None:
        retryable = err.status in call.retry_statuses or isinstance(err, ConnectionFailedError)
        if not retryable or attempt >= self.retry.max_retries:
            return None
        self.retries += 1
        if self.on_retry:
            self.on_retry(call, attempt, err)
        return self.retry.delay(attempt, err.retry_after_s)


class MemosClient(_Base):
    """Synchronous client. ``MemosClient(url, key)``; defaults: ``$MEMOS_URL``, ``$MEMOS_API_KEY``."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryHook | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, api_key, retry, on_retry)
        self._http = http_client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MemosClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _send(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                try:
                    resp = self._http.request(
                        call.method,
                        self.base_url + call.path,
                        params=call.params,
                        json=call.body,
                        headers={**self._headers(), **call.headers},
                    )
                except httpx.TransportError as exc:
                    raise ConnectionFailedError(f"cannot reach {self.base_url}: {exc}") from exc
                return self._decode(call, resp)
            except MemosApiError as err:
                delay = self._should_retry(call, attempt, err)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1

    def _pages(self, first: Callable[[str | None], Call], items: Callable[[Any], list[T]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self._send(first(cursor))
            yield from items(page)
            cursor = page.next_cursor
            if not cursor:
                return

    # -- public and memory
    def health(self) -> HealthResponse:
        return cast(HealthResponse, self._send(calls.health()))

    def openapi(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._send(calls.openapi()))

    def ingest(
        self,
        request: IngestRequest | dict[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> IngestResponse:
        req = as_model(IngestRequest, request, fields)
        return cast(IngestResponse, self._send(calls.ingest(req, idempotency_key)))

    def list_memories(
        self,
        namespace: str,
        *,
        session_id: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> MemoryPage:
        return cast(MemoryPage, self._send(calls.list_memories(namespace, session_id, kind, cursor, limit)))

    def iter_memories(
        self, namespace: str, *, session_id: str | None = None, kind: str | None = None, page_size: int = 100
    ) -> Iterator[MemoryOut]:
        return self._pages(
            lambda c: calls.list_memories(namespace, session_id, kind, c, page_size), lambda p: p.memories
        )

    def get_memory(self, memory_id: UUID | str) -> MemoryOut:
        return cast(MemoryOut, self._send(calls.get_memory(memory_id)))

    def update_memory(
        self, memory_id: UUID | str, patch: MemoryPatch | dict[str, Any] | None = None, /, **fields: Any
    ) -> MemoryOut:
        return cast(
            MemoryOut, self._send(calls.update_memory(memory_id, as_model(MemoryPatch, patch, fields)))
        )

    def delete_memory(self, memory_id: UUID | str) -> None:
        self._send(calls.delete_memory(memory_id))

    def memory_history(self, memory_id: UUID | str) -> MemoryHistory:
        return cast(MemoryHistory, self._send(calls.memory_history(memory_id)))

    def reset_session(
        self, request: SessionReset | dict[str, Any] | None = None, /, **fields: Any
    ) -> ResetResult:
        return cast(ResetResult, self._send(calls.reset_session(as_model(SessionReset, request, fields))))

    def delete_namespace(self, namespace: str) -> NamespaceDeleted:
        return cast(NamespaceDeleted, self._send(calls.delete_namespace(namespace)))

    def export_namespace(self, namespace: str) -> list[dict[str, Any]]:
        return calls.parse_export(self._send(calls.export_namespace(namespace)))

    # -- retrieval
    def query(self, request: QueryRequest | dict[str, Any] | None = None, /, **fields: Any) -> QueryResponse:
        return cast(QueryResponse, self._send(calls.query(as_model(QueryRequest, request, fields))))

    def answer(
        self, request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any
    ) -> AnswerResponse:
        return cast(AnswerResponse, self._send(calls.answer(as_model(AnswerRequest, request, fields))))

    def answer_stream(
        self, request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any
    ) -> Iterator[StreamEvent]:
        """Events as they arrive: ``context``, ``delta``..., ``done`` (``event.answer`` is the whole answer)."""
        call = calls.answer_stream(as_model(AnswerRequest, request, fields))
        attempt = 0
        while True:
            with self._http.stream(
                call.method,
                self.base_url + call.path,
                json=call.body,
                headers={**self._headers(), **call.headers},
            ) as resp:
                if resp.status_code < 400:
                    parser = SseParser()
                    for line in resp.iter_lines():
                        yield from parser.feed(line)
                    yield from parser.feed("")
                    return
                resp.read()
                err = self._error(resp, resp.json() if resp.content else None)
            delay = self._should_retry(call, attempt, err)
            if delay is None:
                raise err
            time.sleep(delay)
            attempt += 1

    # -- governance
    def get_policy(self, namespace: str) -> PolicyOut:
        return cast(PolicyOut, self._send(calls.get_policy(namespace)))

    def put_policy(self, namespace: str, settings: dict[str, Any]) -> PolicyOut:
        return cast(
            PolicyOut, self._send(calls.put_policy(PolicyUpdate(namespace=namespace, settings=settings)))
        )

    def entities(self, namespace: str, *, q: str | None = None, limit: int | None = None) -> EntityPage:
        return cast(EntityPage, self._send(calls.entities(namespace, q, limit)))

    # -- ops
    def ops_stats(self, namespace: str | None = None) -> OpsStats:
        return cast(OpsStats, self._send(calls.ops_stats(namespace)))

    def ops_pipeline(self, namespace: str | None = None, *, limit: int | None = None) -> OpsPipeline:
        return cast(OpsPipeline, self._send(calls.ops_pipeline(namespace, limit)))

    def ops_audit(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> OpsAuditPage:
        call = calls.ops_audit(namespace, session_id, action, since, until, cursor, limit)
        return cast(OpsAuditPage, self._send(call))

    def iter_audit(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 200,
    ) -> Iterator[OpsAuditEvent]:
        return self._pages(
            lambda c: calls.ops_audit(namespace, session_id, action, since, until, c, page_size),
            lambda p: p.events,
        )

    def ops_condensations(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> OpsCondensationPage:
        return cast(
            OpsCondensationPage, self._send(calls.ops_condensations(namespace, session_id, cursor, limit))
        )

    def iter_condensations(
        self, namespace: str | None = None, *, session_id: str | None = None, page_size: int = 100
    ) -> Iterator[OpsCondensation]:
        return self._pages(
            lambda c: calls.ops_condensations(namespace, session_id, c, page_size), lambda p: p.condensations
        )

    def ops_context_packs(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        include_pack: bool = False,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> OpsContextPackPage:
        call = calls.ops_context_packs(namespace, session_id, include_pack, cursor, limit)
        return cast(OpsContextPackPage, self._send(call))

    def iter_context_packs(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        include_pack: bool = False,
        page_size: int = 100,
    ) -> Iterator[OpsContextPack]:
        return self._pages(
            lambda c: calls.ops_context_packs(namespace, session_id, include_pack, c, page_size),
            lambda p: p.context_packs,
        )

    def ops_procedural(
        self, namespace: str | None = None, *, cursor: str | None = None, limit: int | None = None
    ) -> OpsProcedural:
        return cast(OpsProcedural, self._send(calls.ops_procedural(namespace, cursor, limit)))

    # -- keys
    def create_key(self, name: str, scopes: list[str], namespaces: list[str]) -> KeyCreated:
        req = KeyCreateRequest.model_validate({"name": name, "scopes": scopes, "namespaces": namespaces})
        return cast(KeyCreated, self._send(calls.create_key(req)))

    def list_keys(self) -> KeyList:
        return cast(KeyList, self._send(calls.list_keys()))

    def revoke_key(self, key_id: UUID | str) -> KeyOut:
        return cast(KeyOut, self._send(calls.revoke_key(key_id)))


class AsyncMemosClient(_Base):
    """The same API as ``MemosClient``, awaitable; iterators are async iterators."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryHook | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, api_key, retry, on_retry)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMemosClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def _send(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                try:
                    resp = await self._http.request(
                        call.method,
                        self.base_url + call.path,
                        params=call.params,
                        json=call.body,
                        headers={**self._headers(), **call.headers},
                    )
                except httpx.TransportError as exc:
                    raise ConnectionFailedError(f"cannot reach {self.base_url}: {exc}") from exc
                return self._decode(call, resp)
            except MemosApiError as err:
                delay = self._should_retry(call, attempt, err)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _pages(
        self, first: Callable[[str | None], Call], items: Callable[[Any], list[T]]
    ) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self._send(first(cursor))
            for item in items(page):
                yield item
            cursor = page.next_cursor
            if not cursor:
                return

    async def health(self) -> HealthResponse:
        return cast(HealthResponse, await self._send(calls.health()))

    async def ingest(
        self,
        request: IngestRequest | dict[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> IngestResponse:
        req = as_model(IngestRequest, request, fields)
        return cast(IngestResponse, await self._send(calls.ingest(req, idempotency_key)))

    async def list_memories(
        self,
        namespace: str,
        *,
        session_id: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> MemoryPage:
        call = calls.list_memories(namespace, session_id, kind, cursor, limit)
        return cast(MemoryPage, await self._send(call))

    def iter_memories(
        self, namespace: str, *, session_id: str | None = None, kind: str | None = None, page_size: int = 100
    ) -> AsyncIterator[MemoryOut]:
        return self._pages(
            lambda c: calls.list_memories(namespace, session_id, kind, c, page_size), lambda p: p.memories
        )

    async def get_memory(self, memory_id: UUID | str) -> MemoryOut:
        return cast(MemoryOut, await self._send(calls.get_memory(memory_id)))

    async def update_memory(
        self, memory_id: UUID | str, patch: MemoryPatch | dict[str, Any] | None = None, /, **fields: Any
    ) -> MemoryOut:
        call = calls.update_memory(memory_id, as_model(MemoryPatch, patch, fields))
        return cast(MemoryOut, await self._send(call))

    async def delete_memory(self, memory_id: UUID | str) -> None:
        await self._send(calls.delete_memory(memory_id))

    async def memory_history(self, memory_id: UUID | str) -> MemoryHistory:
        return cast(MemoryHistory, await self._send(calls.memory_history(memory_id)))

    async def reset_session(
        self, request: SessionReset | dict[str, Any] | None = None, /, **fields: Any
    ) -> ResetResult:
        return cast(
            ResetResult, await self._send(calls.reset_session(as_model(SessionReset, request, fields)))
        )

    async def delete_namespace(self, namespace: str) -> NamespaceDeleted:
        return cast(NamespaceDeleted, await self._send(calls.delete_namespace(namespace)))

    async def export_namespace(self, namespace: str) -> list[dict[str, Any]]:
        return calls.parse_export(await self._send(calls.export_namespace(namespace)))

    async def query(
        self, request: QueryRequest | dict[str, Any] | None = None, /, **fields: Any
    ) -> QueryResponse:
        return cast(QueryResponse, await self._send(calls.query(as_model(QueryRequest, request, fields))))

    async def answer(
        self, request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any
    ) -> AnswerResponse:
        return cast(AnswerResponse, await self._send(calls.answer(as_model(AnswerRequest, request, fields))))

    async def answer_stream(
        self, request: AnswerRequest | dict[str, Any] | None = None, /, **fields: Any
    ) -> AsyncIterator[StreamEvent]:
        call = calls.answer_stream(as_model(AnswerRequest, request, fields))
        attempt = 0
        while True:
            async with self._http.stream(
                call.method,
                self.base_url + call.path,
                json=call.body,
                headers={**self._headers(), **call.headers},
            ) as resp:
                if resp.status_code < 400:
                    parser = SseParser()
                    async for line in resp.aiter_lines():
                        for event in parser.feed(line):
                            yield event
                    for event in parser.feed(""):
                        yield event
                    return
                await resp.aread()
                err = self._error(resp, resp.json() if resp.content else None)
            delay = self._should_retry(call, attempt, err)
            if delay is None:
                raise err
            await asyncio.sleep(delay)
            attempt += 1

    async def get_policy(self, namespace: str) -> PolicyOut:
        return cast(PolicyOut, await self._send(calls.get_policy(namespace)))

    async def put_policy(self, namespace: str, settings: dict[str, Any]) -> PolicyOut:
        call = calls.put_policy(PolicyUpdate(namespace=namespace, settings=settings))
        return cast(PolicyOut, await self._send(call))

    async def entities(self, namespace: str, *, q: str | None = None, limit: int | None = None) -> EntityPage:
        return cast(EntityPage, await self._send(calls.entities(namespace, q, limit)))

    async def ops_stats(self, namespace: str | None = None) -> OpsStats:
        return cast(OpsStats, await self._send(calls.ops_stats(namespace)))

    async def ops_pipeline(self, namespace: str | None = None, *, limit: int | None = None) -> OpsPipeline:
        return cast(OpsPipeline, await self._send(calls.ops_pipeline(namespace, limit)))

    def iter_audit(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[OpsAuditEvent]:
        return self._pages(
            lambda c: calls.ops_audit(namespace, session_id, action, since, until, c, page_size),
            lambda p: p.events,
        )

    def iter_condensations(
        self, namespace: str | None = None, *, session_id: str | None = None, page_size: int = 100
    ) -> AsyncIterator[OpsCondensation]:
        return self._pages(
            lambda c: calls.ops_condensations(namespace, session_id, c, page_size), lambda p: p.condensations
        )

    def iter_context_packs(
        self,
        namespace: str | None = None,
        *,
        session_id: str | None = None,
        include_pack: bool = False,
        page_size: int = 100,
    ) -> AsyncIterator[OpsContextPack]:
        return self._pages(
            lambda c: calls.ops_context_packs(namespace, session_id, include_pack, c, page_size),
            lambda p: p.context_packs,
        )

    async def ops_procedural(
        self, namespace: str | None = None, *, cursor: str | None = None, limit: int | None = None
    ) -> OpsProcedural:
        return cast(OpsProcedural, await self._send(calls.ops_procedural(namespace, cursor, limit)))

    async def create_key(self, name: str, scopes: list[str], namespaces: list[str]) -> KeyCreated:
        req = KeyCreateRequest.model_validate({"name": name, "scopes": scopes, "namespaces": namespaces})
        return cast(KeyCreated, await self._send(calls.create_key(req)))

    async def list_keys(self) -> KeyList:
        return cast(KeyList, await self._send(calls.list_keys()))

    async def revoke_key(self, key_id: UUID | str) -> KeyOut:
        return cast(KeyOut, await self._send(calls.revoke_key(key_id)))


__all__ = ["AsyncMemosClient", "MemosClient"]
