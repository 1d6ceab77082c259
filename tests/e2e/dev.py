"""Start ``memos dev`` as a child process the way a user does, and wait until it serves."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest


def launch(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[str]:
    """``python -m infra.cli dev ARGS``; returns once it prints that it is up, else fails the test
    with what it printed (up to 90 s)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "dev", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if "Ctrl-C to stop" in line:
            return proc
    proc.kill()
    pytest.fail("memos dev did not come up:\n" + "".join(seen))
