"""L1: each session's recent window in Redis (a cache of L2, rebuilt from it when missing).

Keys carry a hash tag ``{namespace:session}`` so a session's keys share one slot, which is what
ElastiCache Serverless (cluster mode, TLS) needs. Redis being down never loses a memory: writes
to L1 are best effort and reads fall back to L2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import DependencyUnavailable
from memos.kernel.lazy import Lazy
from memos.kernel.observability import logger, metrics

ACTIVE_KEY = "memos:l1:active"  # zset of "namespace\x1fsession" scored by window expiry
_SEP = "\x1f"


def window_key(namespace: str, session_id: str) -> str:
    return f"memos:l1:{{{namespace}:{session_id}}}:window"


def redis_error() -> type[Exception]:
    """redis-py's base error, imported on first use (an ``except`` clause evaluates it only when
    something was raised): importing redis costs ~100 ms of cold start for handlers that never
    reach Redis."""
    import redis

    return redis.RedisError


def make_client(settings: Settings) -> Any:
    url = settings.redis_url
    if not url:
        raise DependencyUnavailable("the L1 cache (Redis) is not configured (set MEMOS_REDIS_URL)")
    # Bounded: a hung Redis costs one socket timeout per call, not redis-py's default four
    # tries with backoff. One immediate retry on a dropped connection reconnects after a restart.
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeouts = {
        "socket_timeout": settings.redis_timeout_s,
        "socket_connect_timeout": settings.redis_timeout_s,
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    }
    if url.startswith("fakeredis://"):
        import fakeredis

        return fakeredis.FakeRedis(server=_fake_server.get(), decode_responses=True)
    if settings.redis_cluster:
        return redis.RedisCluster.from_url(url, decode_responses=True, **timeouts)
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30, **timeouts)


def _new_fake_server() -> Any:
    import fakeredis

    return fakeredis.FakeServer()


_fake_server: Lazy[Any] = Lazy(_new_fake_server)  # one in-process Redis that every client shares


_client: Lazy[Any] = Lazy(lambda: make_client(get_settings()))


def get_client() -> Any:
    return _client.get()


def reset_client() -> None:
    _client.drop()


def _sendable(client: Any) -> bool:
    """One Redis server behind a connection pool (not cluster mode, not fakeredis): commands can be
    sent on one of its connections and their replies read later (``WorkingMemory.send_push``)."""
    import redis

    return type(client) is redis.Redis


def _push_commands(
    namespace: str, windows: dict[str, tuple[list[dict[str, Any]], bool]], size: int, ttl_s: int
) -> list[tuple[Any, ...]]:
    """The Redis commands of a push (``push_many``, ``send_push``): per session, its turns pushed
    newest first (a new window replaces what an earlier, reset session left; an absent one stays
    absent: LPUSHX), cut to ``size``, given the TTL; then the sessions' expiries in the active set."""
    commands: list[tuple[Any, ...]] = []
    for session_id, (turns, create) in windows.items():
        key = window_key(namespace, session_id)
        values = [json.dumps(t, default=str) for t in turns]
        if create:
            commands.append(("DEL", key))
        commands += [("LPUSH" if create else "LPUSHX", key, *values), ("LTRIM", key, 0, size - 1)]
        commands.append(("EXPIRE", key, ttl_s))
    expiry = time.time() + ttl_s
    commands.append(("ZADD", ACTIVE_KEY, *(x for sid in windows for x in (expiry, namespace + _SEP + sid))))
    return commands


class WorkingMemory:
    """A session's window: newest turn first in Redis, returned oldest first."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or get_client()

    def push(
        self,
        namespace: str,
        session_id: str,
        turns: list[dict[str, Any]],
        size: int,
        ttl_s: int,
        *,
        create: bool = True,
    ) -> bool:
        """Append turns (oldest first). Returns False when Redis is unavailable (L2 still has them).

        With ``create=False`` an absent window stays absent (LPUSHX): the next read rebuilds it
        whole from L2 instead of holding only the newest turns. With ``create=True`` (the session's
        first turns) whatever an earlier, reset session left under the key is replaced.
        A failed push leaves the window behind L2; ``window`` notices and rebuilds it.
        """
        return self.push_many(namespace, {session_id: (turns, create)}, size, ttl_s)

    def push_many(
        self,
        namespace: str,
        windows: dict[str, tuple[list[dict[str, Any]], bool]],
        size: int,
        ttl_s: int,
    ) -> bool:
        """``push`` for several sessions of a namespace, as {session id: (turns, create)}, in one
        pipeline: one round trip for a batch, whatever its number of sessions."""
        windows = {sid: w for sid, w in windows.items() if w[0]}
        if not windows:
            return True
        try:
            pipe = self.client.pipeline(transaction=False)
            for command in _push_commands(namespace, windows, size, ttl_s):
                pipe.execute_command(*command)
            pipe.execute()
            return True
        except redis_error() as exc:
            logger.warning("L1 push skipped: Redis unavailable", extra={"error": str(exc)})
            return False

    def send_push(
        self,
        namespace: str,
        windows: dict[str, tuple[list[dict[str, Any]], bool]],
        size: int,
        ttl_s: int,
    ) -> Callable[[], bool]:
        """``push_many`` sent now, its replies read by the returned function (call it once, always:
        it gives the connection back), so the caller waits for something else meanwhile (a single
        add: its COMMIT) while Redis runs the commands. A client other than one Redis server
        (cluster mode, fakeredis) pushes now, as ``push_many``."""
        windows = {sid: w for sid, w in windows.items() if w[0]}
        client = self.client
        if not windows or not _sendable(client):
            done = self.push_many(namespace, windows, size, ttl_s)
            return lambda: done
        commands = _push_commands(namespace, windows, size, ttl_s)
        pool = client.connection_pool
        try:
            conn = pool.get_connection()
        except redis_error() as exc:
            logger.warning("L1 push skipped: Redis unavailable", extra={"error": str(exc)})
            return lambda: False
        try:
            conn.send_packed_command(conn.pack_commands(commands))
        except redis_error():  # a dropped connection (Redis restarted): once more, as the client retries
            conn.disconnect()
            pool.release(conn)
            done = self.push_many(namespace, windows, size, ttl_s)
            return lambda: done

        def replies() -> bool:
            try:
                for _ in commands:
                    conn.read_response()  # an error reply raises (the rest unread: disconnected below)
                return True
            except redis_error() as exc:
                conn.disconnect()
                logger.warning("L1 push skipped: Redis unavailable", extra={"error": str(exc)})
                return False
            finally:
                pool.release(conn)

        return replies

    def window(
        self,
        namespace: str,
        session_id: str,
        size: int,
        ttl_s: int,
        rebuild: Callable[[str, str, int], list[dict[str, Any]]],
        current_ids: Callable[[str, str, int], list[str]],
    ) -> tuple[list[dict[str, Any]], str]:
        """The last ``size`` turns, oldest first, and where they came from: l1, rebuilt or l2.

        ``current_ids`` gives the ids L2 holds as the session's last ``size`` live turns (oldest
        first). A cached window is served only when it holds exactly those; one that missed a
        push (Redis hung or restarted) or still holds a deleted or expired turn is rebuilt.
        """
        cached = self.cached(namespace, session_id, size)
        return self.settle(namespace, session_id, size, ttl_s, cached, rebuild, current_ids)

    def cached(self, namespace: str, session_id: str, size: int) -> list[str] | None:
        """``window``'s first half, the Redis read: the window as stored (newest first), or None
        when Redis is unavailable. The query path reads it while PostgreSQL answers its first reads."""
        try:
            return list(self.client.lrange(window_key(namespace, session_id), 0, size - 1))
        except redis_error() as exc:
            logger.warning("L1 read fell back to L2: Redis unavailable", extra={"error": str(exc)})
            return None

    def settle(
        self,
        namespace: str,
        session_id: str,
        size: int,
        ttl_s: int,
        cached: list[str] | None,
        rebuild: Callable[[str, str, int], list[dict[str, Any]]],
        current_ids: Callable[[str, str, int], list[str]],
    ) -> tuple[list[dict[str, Any]], str]:
        """``window``'s second half, given what ``cached`` read: serve it if its ids are L2's,
        else rebuild it from L2 (or only read L2 when Redis was unavailable)."""
        if cached is None:
            return rebuild(namespace, session_id, size), "l2"
        if cached:
            turns = [json.loads(r) for r in reversed(cached)]
            if [t["memory_id"] for t in turns] == current_ids(namespace, session_id, size):
                return turns, "l1"
            metrics.add_metric(name="L1WindowsStale", unit="Count", value=1)
        turns = rebuild(namespace, session_id, size)
        self.replace(namespace, session_id, turns, ttl_s)
        return turns, "rebuilt"

    def replace(self, namespace: str, session_id: str, turns: list[dict[str, Any]], ttl_s: int) -> bool:
        """Make the window exactly ``turns`` (oldest first); an empty list drops it. Best effort."""
        key = window_key(namespace, session_id)
        member = namespace + _SEP + session_id
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.delete(key)
            if turns:
                pipe.lpush(key, *[json.dumps(t, default=str) for t in turns])
                pipe.expire(key, ttl_s)
            pipe.execute()
            if turns:
                self.client.zadd(ACTIVE_KEY, {member: time.time() + ttl_s})
            else:
                self.client.zrem(ACTIVE_KEY, member)
            return True
        except redis_error() as exc:
            logger.warning("L1 rebuild skipped: Redis unavailable", extra={"error": str(exc)})
            return False

    def exists(self, namespace: str, session_id: str) -> bool:
        try:
            return bool(self.client.exists(window_key(namespace, session_id)))
        except redis_error():
            return False

    def invalidate(self, namespace: str, session_id: str) -> None:
        """Drop a window whose turns changed; the next read rebuilds it from L2 (best effort)."""
        try:
            self.client.delete(window_key(namespace, session_id))
        except redis_error() as exc:
            logger.warning("L1 invalidate skipped: Redis unavailable", extra={"error": str(exc)})

    def clear(self, namespace: str, session_id: str) -> int:
        """Drop a session's window. Raises DependencyUnavailable when Redis cannot be reached."""
        try:
            removed = int(self.client.delete(window_key(namespace, session_id)))
            self.client.zrem(ACTIVE_KEY, namespace + _SEP + session_id)
            return removed
        except redis_error() as exc:
            raise DependencyUnavailable("the L1 cache (Redis) is unavailable") from exc

    def active_sessions(self, namespaces: Callable[[str], bool]) -> int:
        """Sessions with a live window, counting only namespaces the caller may see."""
        now = time.time()
        self.client.zremrangebyscore(ACTIVE_KEY, "-inf", now)
        members = self.client.zrangebyscore(ACTIVE_KEY, now, "+inf")
        return sum(1 for m in members if namespaces(m.split(_SEP, 1)[0]))

    def ping_ms(self) -> float:
        start = time.perf_counter()
        self.client.ping()
        return (time.perf_counter() - start) * 1000
