"""Per-key rate limits: a token bucket in Redis, refilled at ``rate_per_s`` up to ``burst`` tokens.

One Lua script does read-refill-take-write atomically, so concurrent Lambdas or server threads
share one bucket without races; it runs by EVALSHA (redis-py ``register_script``). Each API key
has one hash key whose hash tag is the key id (``memos:rl:{<key_id>}``): the script touches a
single slot, which ElastiCache cluster mode requires. Time comes from Redis (``TIME``), not from
the callers, so clock skew between Lambdas cannot mint tokens.

If Redis is unreachable the limiter *fails open*: the request goes through and a warning is
logged. The limiter protects capacity; it is not an authorization boundary (keys and grants
are), and L2 — the source of truth — works without Redis, so refusing every request because
the cache is down would turn a degraded L1 into a full outage. After a failure the limiter
skips Redis for a few seconds so a black-holed Redis does not add its timeout to each request.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from memos.kernel.config import get_settings
from memos.kernel.observability import logger

RETRY_REDIS_AFTER_S = 5.0

# KEYS[1]: the bucket; ARGV: rate per second, burst, cost. Returns {allowed, tokens, retry_ms}.
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local allowed = 0
local retry_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, tostring(tokens), retry_ms}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: float
    retry_after_s: float  # 0 when allowed

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after_s)))


ALLOW = Decision(True, math.inf, 0.0)


def bucket_key(key_id: str) -> str:
    return f"memos:rl:{{{key_id}}}"


class TokenBucket:
    """The Redis token bucket for one Redis client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._script = client.register_script(TOKEN_BUCKET_LUA)

    def take(self, key_id: str, rate_per_s: float, burst: int, cost: int = 1) -> Decision:
        allowed, tokens, retry_ms = self._script(keys=[bucket_key(key_id)], args=[rate_per_s, burst, cost])
        return Decision(bool(int(allowed)), float(tokens), int(retry_ms) / 1000.0)


class _Limiter:
    """The process's bucket, rebuilt when the Redis client changes; remembers a recent Redis failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bucket: TokenBucket | None = None
        self._skip_until = 0.0

    def _bucket_for(self, client: Any) -> TokenBucket:
        with self._lock:
            if self._bucket is None or self._bucket.client is not client:
                self._bucket = TokenBucket(client)
                self._skip_until = 0.0
            return self._bucket

    def check(self, key_id: str, rate_per_s: float, burst: int) -> Decision:
        from memos import working_memory

        try:
            bucket = self._bucket_for(working_memory.get_client())
            if time.monotonic() < self._skip_until:
                return ALLOW
            return bucket.take(key_id, rate_per_s, burst)
        except Exception as exc:  # any Redis trouble: fail open (see the module docstring)
            self._skip_until = time.monotonic() + RETRY_REDIS_AFTER_S
            logger.warning("rate limiter unavailable; allowing the request", extra={"error": str(exc)})
            return ALLOW


_limiter = _Limiter()


def limits() -> tuple[float, int]:
    """(rate per second, burst) from the settings; a rate ≤ 0 turns limiting off."""
    settings = get_settings()
    return float(settings.rate_limit_rps), max(1, int(settings.rate_limit_burst))


def check(key_id: str) -> Decision:
    """Take one token from this key's bucket."""
    rate, burst = limits()
    if rate <= 0:
        return ALLOW
    return _limiter.check(key_id, rate, burst)
