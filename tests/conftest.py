"""Shared fixtures: the real services, a migrated database, and an in-process API (the local
server's dispatcher, so requests pass the same authorizer and handlers as over HTTP)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import start_postgres, start_redis, start_sqs


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("services")
    pg_url, pg = start_postgres(tmp)
    redis_url, redis_proc = start_redis()
    sqs = start_sqs()
    yield {"pg_url": pg_url, "redis_url": redis_url, "sqs": sqs}
    sqs.stop()
    if redis_proc:
        redis_proc.stop()
    if pg:
        pg.stop()


@pytest.fixture(scope="session")
def env(services: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Point the process at the test services and apply migrations once."""
    from infra.local.stack import reset_process_state
    from memos.kernel.config import get_settings
    from memos.store.migrate import apply_migrations

    values = {
        "MEMOS_ENV": "test",
        "MEMOS_DATABASE_URL": services["pg_url"],
        "MEMOS_REDIS_URL": services["redis_url"],
        "MEMOS_CONDENSE_QUEUE_URL": services["sqs"].queue_url,
        "MEMOS_CONDENSE_DLQ_URL": services["sqs"].dlq_url,
        "MEMOS_AWS_ENDPOINT_URL": services["sqs"].endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # Headroom for the shared admin key; the rate-limit tests set their own low limits.
        "MEMOS_RATE_LIMIT_RPS": "100000",
        "MEMOS_RATE_LIMIT_BURST": "100000",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_process_state()
    apply_migrations(services["pg_url"], get_settings().embed_dim)
    yield services
    reset_process_state()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Api:
    """Calls the API in process through the local server's dispatcher (authorizer + handlers)."""

    def __init__(self, key: str | None) -> None:
        from infra.local.server import LocalApi

        self._api = LocalApi()
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "default",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        use = self.key if key == "default" else key
        if use:
            hdrs["Authorization"] = f"Bearer {use}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        resp = self._api.dispatch(method, path, hdrs, data)
        from memos.governance import trigger

        trigger.flush()  # what a request sends after its response (condensation jobs) has arrived
        text = resp.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        headers_out = {k.lower(): v for k, v in (resp.get("headers") or {}).items()}
        for k, vs in (resp.get("multiValueHeaders") or {}).items():
            headers_out[k.lower()] = vs[-1]
        return int(resp["statusCode"]), parsed, headers_out


def make_key(scopes: list[str], namespaces: list[str]) -> str:
    from memos.access import auth
    from memos.store import db

    with db.connection() as conn:
        key, _ = auth.create_key(conn, f"test-{uuid.uuid4().hex[:6]}", scopes, namespaces)
        conn.commit()
    return key


@pytest.fixture(scope="session")
def admin_key(env: dict[str, Any]) -> str:
    return make_key(["admin"], ["*"])


@pytest.fixture
def api(admin_key: str) -> Api:
    return Api(admin_key)


@pytest.fixture
def ns() -> str:
    """A fresh namespace per test: tests share one database without seeing each other."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_conn(env: dict[str, Any]) -> Iterator[Any]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(env["pg_url"], row_factory=dict_row, autocommit=True) as conn:
        yield conn


ROOT = Path(__file__).resolve().parents[1]
