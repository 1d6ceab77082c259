"""Lambda instances for the local server: N worker processes, each running one invocation at a time.

In the cloud two requests in flight are two Lambda instances: two processes, nothing shared but the
database, Redis and SQS. In one local process they cannot overlap: Powertools keeps the current event
and Lambda context on its ``BaseRouter`` class (and Logger/Metrics state per process), so the server
runs one invocation at a time (``infra.local.server.invoke``), and the GIL would hold Python's share
of two batches to one core anyway. ``Instances(n)`` starts ``n`` processes (spawned, with this
process's environment and ``sys.path``: the stack's database, Redis and queue URLs), each importing
the handlers once and then serving the invocations sent to it over a pipe; a request takes an idle
one, waiting while all are busy, as a function with reserved concurrency ``n`` would; one that ends
(killed, crashed) fails the invocation it was running and is replaced by a new one. A streaming
handler's pieces come back over the same pipe as they are produced. The local background workers
(condensation, decay, L1 cleanups) keep running in the server's process.

It needs a Redis every process can reach (``redis-server``, not the in-process fakeredis).
"""

from __future__ import annotations

import multiprocessing
import queue
from multiprocessing.connection import Connection
from typing import Any

_STOP_JOIN_S = 5.0


class _PipeStream:
    """The child's ``response_stream``: each piece goes back to the server as it is produced."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.started = False

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.conn.send(("start", status, headers))
        self.started = True

    def write(self, data: str) -> None:
        self.conn.send(("write", data))

    def finish(self) -> None:  # the server finishes the HTTP response after the invocation
        pass


def _serve(conn: Connection) -> None:
    """One instance: import the handlers, then run what arrives until the pipe closes."""
    from infra.local.server import Router, invoke
    from infra.local.stack import _import_handlers

    _import_handlers()
    router = Router()
    conn.send(("ready",))
    while True:
        try:
            function, event, streaming = conn.recv()
        except (EOFError, OSError):
            return
        try:
            stream = _PipeStream(conn) if streaming else None
            conn.send(("response", invoke(router.handler(function), function, event, stream)))
        except BaseException as exc:  # the server's thread raises it, as an in-process handler would
            conn.send(("raise", f"{type(exc).__name__}: {exc}"))


class Instances:
    """``count`` instance processes; ``invoke`` runs one invocation on an idle one."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("at least one instance")
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._idle: queue.Queue[Connection] = queue.Queue()
        self._procs: dict[Connection, Any] = {}
        started = [self._start() for _ in range(count)]
        for conn in started:  # ready: the handlers imported, as a warm Lambda's
            self._ready(conn)

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child,), name="memos-instance", daemon=True)
        proc.start()
        child.close()
        self._procs[parent] = proc
        return parent

    def _ready(self, conn: Connection) -> None:
        if conn.recv() != ("ready",):
            raise RuntimeError("a local instance failed to start")
        self._idle.put(conn)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs.values()]

    def invoke(self, function: str, event: dict[str, Any], stream: Any = None) -> dict[str, Any]:
        conn = self._idle.get()
        try:
            conn.send((function, event, stream is not None))
            failed: BaseException | None = None
            while True:
                kind, *payload = conn.recv()
                if kind == "response":
                    break
                if kind == "raise":
                    raise RuntimeError(payload[0])
                if failed is None:  # the client went away: read the rest, then say so
                    try:
                        getattr(stream, kind)(*payload)
                    except BaseException as exc:
                        failed = exc
        except (EOFError, OSError) as exc:  # the instance died (killed, crashed): a new one instead
            self._replace(conn)
            raise RuntimeError("a local instance ended during an invocation") from exc
        except BaseException:
            self._idle.put(conn)
            raise
        self._idle.put(conn)
        if failed is not None:
            raise failed
        response: dict[str, Any] = payload[0]
        return response

    def _replace(self, conn: Connection) -> None:
        proc = self._procs.pop(conn)
        conn.close()
        proc.join(_STOP_JOIN_S)
        if proc.is_alive():
            proc.terminate()
        self._ready(self._start())

    def stop(self) -> None:
        for conn in self._procs:
            conn.close()
        for proc in self._procs.values():
            proc.join(_STOP_JOIN_S)
            if proc.is_alive():
                proc.terminate()
                proc.join(_STOP_JOIN_S)
        self._procs.clear()
