"""After a ``kill -9`` of the process that started the embedded PostgreSQL, a later clean start and
stop must still stop it (pgserver keeps the killed owner's pid in ``.handle_pids.json``)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from infra.local.services import EmbeddedPostgres, handle_pids, postmaster_pid, stop_postmaster

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 50
_CHILD = """
import sys, time
from pathlib import Path
from infra.local.services import EmbeddedPostgres
print(EmbeddedPostgres(Path(sys.argv[1])).start(), flush=True)
time.sleep(300)
"""


@pytest.fixture
def pgdata() -> Iterator[Path]:
    # Outside pytest's tmp dir and world-readable: as root the server runs as its own user.
    base = Path(tempfile.mkdtemp(prefix="memos-fault-pg-"))
    base.chmod(0o755)
    data = base / "pg"
    try:
        yield data
    finally:
        stop_postmaster(data)
        shutil.rmtree(base, ignore_errors=True)


def _start_owner(data: Path) -> subprocess.Popen[str]:
    """A child process that starts the server on ``data`` and holds it until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(data)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
    if not ready:
        proc.kill()
        proc.wait()
        pytest.fail("the child did not start PostgreSQL in time")
    assert proc.stdout.readline().startswith("postgresql://")
    return proc


def _kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # reaped, as a shell reaps a killed stack


def _select_1(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_a_clean_stop_after_the_owner_was_killed_stops_the_server(pgdata: Path):
    owner = _start_owner(pgdata)
    _kill9(owner)
    server_pid = postmaster_pid(pgdata)
    assert server_pid is not None, "the killed owner's server keeps running (the reproduction)"
    assert owner.pid in handle_pids(pgdata), "pgserver kept the killed owner's pid (the reproduction)"

    pg = EmbeddedPostgres(pgdata)
    url = pg.start()
    assert owner.pid not in handle_pids(pgdata)
    assert _select_1(url) == 1
    pg.stop()

    assert postmaster_pid(pgdata) is None
    assert handle_pids(pgdata) == []


def test_a_stop_leaves_the_server_running_while_another_live_process_holds_it(pgdata: Path):
    owner = _start_owner(pgdata)
    try:
        pg = EmbeddedPostgres(pgdata)
        url = pg.start()
        assert set(handle_pids(pgdata)) == {owner.pid, os.getpid()}
        pg.stop()
        assert postmaster_pid(pgdata) is not None, "the live owner still needs its server"
        assert handle_pids(pgdata) == [owner.pid]
        assert _select_1(url) == 1
    finally:
        _kill9(owner)
    # The owner is gone now: the next start-and-stop cleans up after it.
    pg = EmbeddedPostgres(pgdata)
    pg.start()
    pg.stop()
    assert postmaster_pid(pgdata) is None


def test_the_embedded_server_starts_with_the_stack_memory_settings_written_once(pgdata: Path) -> None:
    from infra.local.services import MEMORY_SETTINGS

    for _ in range(2):  # a second start of the same data directory keeps one block of settings
        pg = EmbeddedPostgres(pgdata)
        url = pg.start()
        try:
            with psycopg.connect(url) as conn:
                for name, value in MEMORY_SETTINGS.items():
                    assert conn.execute(f"SHOW {name}").fetchone()[0] == value
        finally:
            pg.stop()
    assert (pgdata / "postgresql.conf").read_text().count("shared_buffers = '1GB'") == 1
