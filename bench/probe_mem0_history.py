"""What mem0's history row costs on its own: ``SQLiteManager.add_history``, which ``Memory.add``
calls once per memory stored (its own ``BEGIN`` … ``COMMIT`` in SQLite), timed 100 times.

    <mem0 interpreter> bench/probe_mem0_history.py                  # ms an add_history
    strace -f -c -e trace=fsync,fdatasync <mem0 interpreter> bench/probe_mem0_history.py   # its flushes

Runs inside mem0's virtualenv (``bench_peer.py`` documents it); nothing of MemOS is imported.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

from mem0.memory.storage import SQLiteManager


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = SQLiteManager(os.path.join(tmp, "history.db"))
        for _ in range(5):
            history.add_history(str(uuid.uuid4()), None, "warm", "ADD")
        started = time.perf_counter()
        for i in range(100):
            history.add_history(str(uuid.uuid4()), None, f"text {i}", "ADD")
        print(
            f"add_history: {(time.perf_counter() - started) * 10:.3f} ms each (100, after 5; load {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
