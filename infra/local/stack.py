"""The local stack: embedded data services + migrations + the dev key + the HTTP API, one object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.server import LocalServer
from infra.local.services import EmbeddedPostgres, MotoSqs, RedisProcess, start_redis, wait_for_postgres
from infra.local.workers import CondensationWorker, DecayTimer, L1CleanupTimer

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"
DEV_KEY_NAME = "dev"
STATE_FILE = (
    "stack.json"  # where the running stack is: URL, database URL (read by `memos keys`, `memos eval`)
)
KEY_FILE = "admin_key"  # the dev admin key, kept across restarts (mode 0600)


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The running stack's state file, or None when there is none."""
    import json

    try:
        return dict(json.loads(state_path(data_dir).read_text()))
    except (OSError, ValueError):
        return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def stored_key(data_dir: Path) -> str | None:
    try:
        return key_path(data_dir).read_text().strip() or None
    except OSError:
        return None


def dev_key(conn: Any, data_dir: Path, given: str | None, rotate: bool) -> tuple[str, str]:
    """(key, how): the given key, else the one kept in the data dir, else a new one (stored 0600).

    Rotation revokes the stored key before minting its successor.
    """
    from memos.access import auth
    from memos.store import keys

    old = stored_key(data_dir)
    if rotate and old:
        keys.revoke_by_hash(conn, auth.hash_key(old))
        old = None
    key = given or old
    how = "MEMOS_DEV_API_KEY" if given else ("kept in " + str(key_path(data_dir)) if key else "generated")
    key, _ = auth.create_key(conn, DEV_KEY_NAME, ["admin"], ["*"], key=key, actor="memos dev")
    if not given:
        _write_private(key_path(data_dir), key + "\n")
    return key, how


def reset_process_state() -> None:
    """Forget cached settings, pools and clients so the next request reads the new environment."""
    from functions.authorizer.handler import forget_cached_keys
    from memos import embeddings, working_memory
    from memos.governance import policy_store, trigger
    from memos.kernel.config import reset_settings
    from memos.ops import embedding_map
    from memos.retrieval import ann, rerank
    from memos.store import db

    db.close_pool()
    ann.clear_cache()
    working_memory.reset_client()
    trigger.reset_client()
    policy_store.clear_cache()
    embeddings.get_embedder.cache_clear()
    rerank.get_reranker.cache_clear()
    forget_cached_keys()
    embedding_map.clear_cache()
    reset_settings()


def _import_handlers() -> None:
    import importlib

    from functions.routes import BACKGROUND_FUNCTIONS, ROUTES

    for name in sorted({r.function for r in ROUTES} | set(BACKGROUND_FUNCTIONS)):
        importlib.import_module(f"functions.{name}.handler")


@dataclass
class LocalStack:
    data_dir: Path
    port: int = 8080
    api_key: str | None = None
    host: str = "127.0.0.1"
    notes: dict[str, str] = field(default_factory=dict)
    _pg: EmbeddedPostgres | None = None
    _redis: RedisProcess | None = None
    _sqs: MotoSqs | None = None
    server: LocalServer | None = None
    _worker: CondensationWorker | None = None
    _decay: DecayTimer | None = None
    _l1_cleanup: L1CleanupTimer | None = None
    decay_interval_s: float = 300.0
    instances: int = 1  # API invocations at a time: more than one runs them in that many processes
    rotate_key: bool = False
    write_state: bool = True  # memos eval's throwaway stacks write none
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def _setenv(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def start(self) -> LocalStack:
        from memos.kernel.config import get_settings
        from memos.store import db
        from memos.store.migrate import apply_migrations

        try:
            url = os.environ.get("MEMOS_DATABASE_URL")
            if url:
                self.notes["postgres"] = "MEMOS_DATABASE_URL"
            else:
                self._pg = EmbeddedPostgres(self.data_dir / "pg")
                url = self._pg.start()
                self.notes["postgres"] = f"embedded PostgreSQL 16 + pgvector ({self._pg.data_dir})"
            wait_for_postgres(url)
            redis_url, how, self._redis = start_redis()
            self.notes["redis"] = how
            self._sqs = MotoSqs()
            endpoint = self._sqs.start()
            self.notes["sqs"] = f"moto SQS at {endpoint}"

            self._setenv("MEMOS_DATABASE_URL", url)
            self._setenv("MEMOS_REDIS_URL", redis_url)
            self._setenv("MEMOS_CONDENSE_QUEUE_URL", self._sqs.queue_url)
            self._setenv("MEMOS_CONDENSE_DLQ_URL", self._sqs.dlq_url)
            self._setenv("MEMOS_AWS_ENDPOINT_URL", endpoint)
            # Locally, EMF metrics and INFO logs on stdout would bury the demo; errors still show.
            for name, value in (("POWERTOOLS_METRICS_DISABLED", "true"), ("POWERTOOLS_LOG_LEVEL", "WARNING")):
                if name not in os.environ:
                    self._setenv(name, value)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if not os.environ.get(name):
                    self._setenv(name, "local")
            reset_process_state()
            apply_migrations(url, get_settings().embed_dim)

            with db.connection() as conn:
                given = self.api_key or os.environ.get("MEMOS_DEV_API_KEY")
                self.api_key, self.notes["key"] = dev_key(conn, self.data_dir, given, self.rotate_key)
                conn.commit()

            _import_handlers()  # in this thread: concurrent first imports of Powertools modules race
            if self.instances > 1 and redis_url.startswith("fakeredis"):
                raise RuntimeError("more than one instance needs a shared Redis (install redis-server)")
            self.server = LocalServer(
                self.host, self.port, CONSOLE_DIR if CONSOLE_DIR.is_dir() else None, instances=self.instances
            )
            if self.instances > 1:
                self.notes["instances"] = f"{self.instances} instance processes run the API's invocations"
            self.server.start()
            self._worker = CondensationWorker().start()
            self._decay = DecayTimer(self.decay_interval_s).start()
            self._l1_cleanup = L1CleanupTimer().start()
            self.notes["workers"] = (
                f"condensation consumer on the moto queue; decay job every {self.decay_interval_s:.0f} s;"
                " pending L1 cleanups retried every 5 s"
            )
            if self.write_state:
                self._write_state(url)
        except BaseException:
            self.stop()
            raise
        return self

    def _write_state(self, database_url: str) -> None:
        import json

        state = {"url": self.url, "database_url": database_url, "pid": os.getpid(), "key_file": KEY_FILE}
        _write_private(state_path(self.data_dir), json.dumps(state, indent=2) + "\n")

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def stop(self) -> None:
        from memos.store import db

        for worker in (self._worker, self._decay, self._l1_cleanup):
            if worker is not None:
                worker.stop()
        self._worker = self._decay = self._l1_cleanup = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        db.close_pool()
        if self.write_state and (read_state(self.data_dir) or {}).get("pid") == os.getpid():
            state_path(self.data_dir).unlink(missing_ok=True)
        for service in (self._sqs, self._redis, self._pg):
            if service is not None:
                service.stop()
        self._sqs = self._redis = self._pg = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        reset_process_state()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
