"""PostgreSQL connections: one lazily opened pool per process, reused across warm invocations.

psycopg, psycopg_pool and pgvector are imported on first use, not at import: they cost ~100 ms
of cold start, and nothing connects before the first request (SnapStart snapshots no socket)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import DependencyUnavailable
from memos.kernel.lazy import Lazy

if TYPE_CHECKING:
    import psycopg
    from psycopg.types.json import Jsonb
    from psycopg_pool import ConnectionPool
    from pydantic import BaseModel

_refetch_secret = False  # set after an authentication failure: the secret may have rotated
_vector_ready = threading.local()


def database_url(settings: Settings, *, force_fetch: bool = False) -> str:
    if settings.database_url:
        return settings.database_url
    if settings.database_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        secret: Any = parameters.get_secret(
            settings.database_secret_arn, transform="json", max_age=300, force_fetch=force_fetch
        )
        host = settings.database_host or secret["host"]
        dbname = secret.get("dbname") or settings.database_name
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=host,
            port=secret.get("port", 5432),
            user=secret["username"],
            password=secret["password"],
            dbname=dbname,
            sslmode="require",
        )
    raise DependencyUnavailable("database is not configured (set MEMOS_DATABASE_URL)")


def _configure(conn: psycopg.Connection) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    with contextlib.suppress(psycopg.ProgrammingError):  # the extension comes with the first migration
        register_vector(conn)
    conn.commit()
    from memos.store.ann import SEARCH_SETTINGS

    for statement in SEARCH_SETTINGS:  # the per-namespace HNSW indexes' search settings
        conn.execute(statement)
    conn.commit()


def _open_pool() -> ConnectionPool:
    global _refetch_secret
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    settings = get_settings()
    url = database_url(settings, force_fetch=_refetch_secret)
    _refetch_secret = False
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=settings.db_pool_max,
        kwargs={
            "autocommit": False,
            "row_factory": dict_row,
            "prepare_threshold": 5,
            "connect_timeout": max(1, int(settings.db_connect_timeout_s)),
        },
        configure=_configure,
        timeout=settings.db_connect_timeout_s,
        open=False,
        reconnect_timeout=settings.db_connect_timeout_s * 5,
    )
    pool.open(wait=False)
    return pool


_pool: Lazy[ConnectionPool] = Lazy(_open_pool)


def get_pool() -> ConnectionPool:
    return _pool.get()


def close_pool() -> None:
    """Close the pool; the next request opens a new one."""
    pool = _pool.drop()
    if pool is not None:
        pool.close()


@contextmanager
def connection() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A pooled connection inside one transaction; database failures become 503."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        with get_pool().connection() as conn:
            yield conn  # type: ignore[misc]
    except (PoolTimeout, psycopg.OperationalError) as exc:
        if "password authentication failed" in str(exc):  # rotated secret: rebuild with a fresh read
            global _refetch_secret
            _refetch_secret = True
            close_pool()
        elif _lost_server(exc):
            # A pool that failed to connect retries in the background with growing backoff and
            # keeps connections to a server that went away: after PostgreSQL comes back, requests
            # would still time out for seconds. The next request starts a fresh pool instead.
            close_pool()
        raise DependencyUnavailable("the memory store (PostgreSQL) is unavailable") from exc


@contextmanager
def pipelined_transaction() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A transaction sent in one pipeline, its BEGIN with the first statements and its COMMIT
    (``send_commit``, the last statement) with the last: the round trips are the caller's reads and
    the end of the block, which waits for the COMMIT. (psycopg's own BEGIN waits for its answer,
    one round trip before the first statement, and a pipeline left after ``commit()`` syncs once
    more.) Without a COMMIT, or when a statement failed, the transaction is rolled back."""
    from psycopg.pq import TransactionStatus

    with connection() as conn:
        conn.autocommit = True  # the transaction is ours: BEGIN and COMMIT are statements
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                yield conn
        finally:
            if conn.pgconn.transaction_status != TransactionStatus.IDLE:
                conn.rollback()
            conn.autocommit = False


def send_commit(conn: psycopg.Connection[Any]) -> None:
    """Queue the COMMIT of a ``pipelined_transaction``: durable once the block has ended."""
    conn.execute("COMMIT")


@contextmanager
def autocommit_connection() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A pooled connection outside any transaction block (``CREATE INDEX CONCURRENTLY``)."""
    with connection() as conn:
        conn.commit()
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.autocommit = False


def _lost_server(exc: Exception) -> bool:
    """A pool timeout or a broken connection, not an error of one statement (e.g. a timeout)."""
    from psycopg_pool import PoolTimeout

    if isinstance(exc, PoolTimeout):
        return True
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith(("08", "57P"))


def jsonb(value: Any) -> Jsonb:
    from psycopg.types.json import Jsonb

    return Jsonb(value, dumps=lambda v: json.dumps(v, default=str))


def jsonb_of_model(model: BaseModel) -> Jsonb:
    """A pydantic model as a jsonb parameter, serialized by pydantic (the same JSON value as
    ``jsonb(model.model_dump(mode="json"))``, in a tenth of the time)."""
    from psycopg.types.json import Jsonb

    return Jsonb(model, dumps=lambda m: m.model_dump_json())


def ping(conn: psycopg.Connection[Any]) -> None:
    """One round trip: raises if the server does not answer."""
    conn.execute("SELECT 1").fetchone()
