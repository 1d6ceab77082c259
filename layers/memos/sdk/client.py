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
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx

from memos.sdk import calls
from memos.sdk.calls import Call, Paged, RetryPolicy, parse_retry_after
from memos.sdk.errors import ConnectionFailedError, MemosApiError, error_for
from memos.sdk.sse import SseParser, StreamEvent

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
S = TypeVar("S")
A = TypeVar("A")
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

    def _retry_delay(self, call: Call[Any], attempt: int, exc: Exception) -> float:
        """How long to wait before retrying after ``exc``; raises it (typed) when it is not retried."""
        if isinstance(exc, httpx.TransportError):
            err: MemosApiError = self._unreachable(exc)
            err.__cause__ = exc
        else:
            assert isinstance(exc, MemosApiError)
            err = exc
        delay = self._should_retry(call, attempt, err)
        if delay is None:
            raise err
        return delay

    def _should_retry(self, call: Call[Any], attempt: int, err: MemosApiError) -> float | None:
        retryable = err.status in call.retry_statuses or isinstance(err, ConnectionFailedError)
        if not retryable or attempt >= self.retry.max_retries:
            return None
        self.retries += 1
        if self.on_retry:
            self.on_retry(call, attempt, err)
        return self.retry.delay(attempt, err.retry_after_s)


def _bound(build: Callable[..., Any], run: Callable[[Any], Any]) -> Callable[..., Any]:
    """The method: ``run`` (the client's send, pages or stream) over what ``build`` makes of the arguments."""

    @functools.wraps(build)
    def method(*args: Any, **kwargs: Any) -> Any:
        return run(build(*args, **kwargs))

    return method


class _Method(Generic[P, S, A]):
    """A client method from a request builder, with its signature: ``run`` (the client's ``_send``,
    ``_pages`` or ``_stream``) over what the builder makes; S is its result on the sync client, A on the async one."""

    def __init__(self, build: Callable[P, Any], run: str) -> None:
        self.build, self.run = build, run

    @overload
    def __get__(self, client: None, owner: type) -> _Method[P, S, A]: ...
    @overload
    def __get__(self, client: MemosClient, owner: type) -> Callable[P, S]: ...
    @overload
    def __get__(self, client: AsyncMemosClient, owner: type) -> Callable[P, A]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        return self if client is None else _bound(self.build, getattr(client, self.run))


def _route(build: Callable[P, Call[R]]) -> _Method[P, R, Coroutine[Any, Any, R]]:
    return _Method(build, "_send")


def _iter(build: Callable[P, Paged[T]]) -> _Method[P, Iterator[T], AsyncIterator[T]]:
    return _Method(build, "_pages")


def _stream(build: Callable[P, Call[Any]]) -> _Method[P, Iterator[StreamEvent], AsyncIterator[StreamEvent]]:
    return _Method(build, "_stream")


class _Routes(_Base, Generic[H]):
    """Every API route, once; the signatures and docs are the builders' in ``calls.py``."""

    _new_http: Callable[..., H]  # the transport's httpx client class

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryHook | None = None,
        http_client: H | None = None,
    ) -> None:
        super().__init__(base_url, api_key, retry, on_retry)
        self._http: H = http_client or self._new_http(timeout=timeout)

    # -- public and memory
    health = _route(calls.health)
    openapi = _route(calls.openapi)
    ingest = _route(calls.ingest)
    list_memories = _route(calls.list_memories)
    iter_memories = _iter(calls.iter_memories)
    get_memory = _route(calls.get_memory)
    update_memory = _route(calls.update_memory)
    delete_memory = _route(calls.delete_memory)
    memory_history = _route(calls.memory_history)
    reset_session = _route(calls.reset_session)
    delete_namespace = _route(calls.delete_namespace)
    export_namespace = _route(calls.export_namespace)
    # -- retrieval
    query = _route(calls.query)
    answer = _route(calls.answer)
    answer_stream = _stream(calls.answer_stream)
    # -- governance
    get_policy = _route(calls.get_policy)
    put_policy = _route(calls.put_policy)
    entities = _route(calls.entities)
    # -- ops
    ops_stats = _route(calls.ops_stats)
    ops_pipeline = _route(calls.ops_pipeline)
    ops_audit = _route(calls.ops_audit)
    iter_audit = _iter(calls.iter_audit)
    ops_condensations = _route(calls.ops_condensations)
    iter_condensations = _iter(calls.iter_condensations)
    ops_context_packs = _route(calls.ops_context_packs)
    iter_context_packs = _iter(calls.iter_context_packs)
    ops_procedural = _route(calls.ops_procedural)
    # -- keys
    create_key = _route(calls.create_key)
    list_keys = _route(calls.list_keys)
    revoke_key = _route(calls.revoke_key)


class MemosClient(_Routes[httpx.Client]):
    """Synchronous client. ``MemosClient(url, key)``; defaults: ``$MEMOS_URL``, ``$MEMOS_API_KEY``."""

    _new_http = httpx.Client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MemosClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _send(self, call: Call[R]) -> R:
        for attempt in itertools.count():
            try:
                return self._decode(call, self._http.request(**self._request(call)))
            except (httpx.TransportError, MemosApiError) as exc:
                time.sleep(self._retry_delay(call, attempt, exc))
        raise AssertionError("unreachable")

    def _pages(self, paged: Paged[T]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self._send(paged.page(cursor))
            yield from paged.items(page)
            cursor = page.next_cursor
            if not cursor:
                return

    def _stream(self, call: Call[Any]) -> Iterator[StreamEvent]:
        for attempt in itertools.count():
            with self._http.stream(**self._request(call)) as resp:
                if resp.status_code < 400:
                    parser = SseParser()
                    for line in resp.iter_lines():
                        yield from parser.feed(line)
                    yield from parser.feed("")
                    return
                resp.read()
                err = self._error(resp, resp.json() if resp.content else None)
            time.sleep(self._retry_delay(call, attempt, err))


class AsyncMemosClient(_Routes[httpx.AsyncClient]):
    """The same API as ``MemosClient``, awaitable; iterators are async iterators."""

    _new_http = httpx.AsyncClient

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMemosClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def _send(self, call: Call[R]) -> R:
        for attempt in itertools.count():
            try:
                return self._decode(call, await self._http.request(**self._request(call)))
            except (httpx.TransportError, MemosApiError) as exc:
                await asyncio.sleep(self._retry_delay(call, attempt, exc))
        raise AssertionError("unreachable")

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
        for attempt in itertools.count():
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
            await asyncio.sleep(self._retry_delay(call, attempt, err))


__all__ = ["AsyncMemosClient", "MemosClient"]
