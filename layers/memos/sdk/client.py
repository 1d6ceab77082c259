"""``MemosClient`` (sync) and ``AsyncMemosClient`` over httpx, one method per API route.

Both retry 429 and 503 with backoff (honoring ``Retry-After``), send an ``Idempotency-Key`` with every
ingest (the same key on each retry), raise typed errors carrying the API's error code, iterate over
cursor pages, and stream ``/v1/answer/stream`` as an iterator of events.

The routes are declared once (``_Routes``, from the request builders in ``calls.py``, whose signatures
the methods take); the two clients differ only in their transport: how a request is sent, retried,
paged and streamed.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx

from memos.sdk import calls
from memos.sdk.calls import Call, Paged, RetryPolicy, SseParser, StreamEvent, parse_retry_after
from memos.sdk.errors import ConnectionFailedError, MemosApiError, error_for

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
RetryHook = Callable[[Call[Any], int, MemosApiError], None]  # (call, attempt, the error that is retried)
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

    def _request(self, call: Call[Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return {
            "method": call.method,
            "url": self.base_url + call.path,
            "params": call.params,
            "json": call.body,
            "headers": {**headers, **call.headers},
        }

    def _unreachable(self, exc: httpx.TransportError) -> ConnectionFailedError:
        return ConnectionFailedError(f"cannot reach {self.base_url}: {exc}")

    @staticmethod
    def _error(resp: httpx.Response, body: Any) -> MemosApiError:
        return error_for(
            resp.status_code,
            body,
            resp.headers.get("x-request-id"),
            parse_retry_after(resp.headers.get("Retry-After")),
        )

    @classmethod
    def _decode(cls, call: Call[R], resp: httpx.Response) -> R:
        ctype = resp.headers.get("content-type", "")
        body: Any = resp.json() if "json" in ctype and resp.content else resp.text
        if resp.status_code >= 400 and resp.status_code not in call.ok_statuses:
            raise cls._error(resp, body)
        return call.read(body)

    def _should_retry(self, call: Call[Any], attempt: int, err: MemosApiError) -> float | None:
        retryable = err.status in call.retry_statuses or isinstance(err, ConnectionFailedError)
        if not retryable or attempt >= self.retry.max_retries:
            return None
        self.retries += 1
        if self.on_retry:
            self.on_retry(call, attempt, err)
        return self.retry.delay(attempt, err.retry_after_s)


class _Route(Generic[P, R]):
    """A client method from a request builder: same signature; sends the call, returns its result."""

    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build

    @overload
    def __get__(self, client: None, owner: type) -> _Route[P, R]: ...
    @overload
    def __get__(self, client: MemosClient, owner: type) -> Callable[P, R]: ...
    @overload
    def __get__(self, client: AsyncMemosClient, owner: type) -> Callable[P, Coroutine[Any, Any, R]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build, send = self.build, client._send

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))

        return method


class _Iter(Generic[P, T]):
    """A client method iterating a cursor-paged route (an async iterator on the async client)."""

    def __init__(self, build: Callable[P, Paged[T]]) -> None:
        self.build = build

    @overload
    def __get__(self, client: None, owner: type) -> _Iter[P, T]: ...
    @overload
    def __get__(self, client: MemosClient, owner: type) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, client: AsyncMemosClient, owner: type) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build, pages = self.build, client._pages

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return pages(build(*args, **kwargs))

        return method


class _Stream(Generic[P]):
    """A client method streaming server-sent events (an async iterator on the async client)."""

    def __init__(self, build: Callable[P, Call[Any]]) -> None:
        self.build = build

    @overload
    def __get__(self, client: None, owner: type) -> _Stream[P]: ...
    @overload
    def __get__(self, client: MemosClient, owner: type) -> Callable[P, Iterator[StreamEvent]]: ...
    @overload
    def __get__(self, client: AsyncMemosClient, owner: type) -> Callable[P, AsyncIterator[StreamEvent]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build, stream = self.build, client._stream

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return stream(build(*args, **kwargs))

        return method


class _Routes(_Base):
    """Every API route, once; the signatures and docs are the builders' in ``calls.py``."""

    # -- public and memory
    health = _Route(calls.health)
    openapi = _Route(calls.openapi)
    ingest = _Route(calls.ingest)
    list_memories = _Route(calls.list_memories)
    iter_memories = _Iter(calls.iter_memories)
    get_memory = _Route(calls.get_memory)
    update_memory = _Route(calls.update_memory)
    delete_memory = _Route(calls.delete_memory)
    memory_history = _Route(calls.memory_history)
    reset_session = _Route(calls.reset_session)
    delete_namespace = _Route(calls.delete_namespace)
    export_namespace = _Route(calls.export_namespace)
    # -- retrieval
    query = _Route(calls.query)
    answer = _Route(calls.answer)
    answer_stream = _Stream(calls.answer_stream)
    # -- governance
    get_policy = _Route(calls.get_policy)
    put_policy = _Route(calls.put_policy)
    entities = _Route(calls.entities)
    # -- ops
    ops_stats = _Route(calls.ops_stats)
    ops_pipeline = _Route(calls.ops_pipeline)
    ops_audit = _Route(calls.ops_audit)
    iter_audit = _Iter(calls.iter_audit)
    ops_condensations = _Route(calls.ops_condensations)
    iter_condensations = _Iter(calls.iter_condensations)
    ops_context_packs = _Route(calls.ops_context_packs)
    iter_context_packs = _Iter(calls.iter_context_packs)
    ops_procedural = _Route(calls.ops_procedural)
    # -- keys
    create_key = _Route(calls.create_key)
    list_keys = _Route(calls.list_keys)
    revoke_key = _Route(calls.revoke_key)


class MemosClient(_Routes):
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

    def _send(self, call: Call[R]) -> R:
        attempt = 0
        while True:
            try:
                try:
                    resp = self._http.request(**self._request(call))
                except httpx.TransportError as exc:
                    raise self._unreachable(exc) from exc
                return self._decode(call, resp)
            except MemosApiError as err:
                delay = self._should_retry(call, attempt, err)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1

    def _pages(self, paged: Paged[T]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self._send(paged.page(cursor))
            yield from paged.items(page)
            cursor = page.next_cursor
            if not cursor:
                return

    def _stream(self, call: Call[Any]) -> Iterator[StreamEvent]:
        attempt = 0
        while True:
            with self._http.stream(**self._request(call)) as resp:
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


class AsyncMemosClient(_Routes):
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

    async def _send(self, call: Call[R]) -> R:
        attempt = 0
        while True:
            try:
                try:
                    resp = await self._http.request(**self._request(call))
                except httpx.TransportError as exc:
                    raise self._unreachable(exc) from exc
                return self._decode(call, resp)
            except MemosApiError as err:
                delay = self._should_retry(call, attempt, err)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _pages(self, paged: Paged[T]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self._send(paged.page(cursor))
            for item in paged.items(page):
                yield item
            cursor = page.next_cursor
            if not cursor:
                return

    async def _stream(self, call: Call[Any]) -> AsyncIterator[StreamEvent]:
        attempt = 0
        while True:
            async with self._http.stream(**self._request(call)) as resp:
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


__all__ = ["AsyncMemosClient", "MemosClient"]
