"""The local server on a free port, and an HTTP client per thread, for the fault tier."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Long enough for a loaded machine, short enough that a stuck read cannot stall the run.
REQUEST_TIMEOUT_S = 2.0
CLIENT_TIMEOUT_S = 30.0


@contextmanager
def local_server() -> Iterator[Any]:
    """The real HTTP server (threaded, as ``memos dev`` runs it) on a free loopback port."""
    from infra.local.server import LocalServer

    server = LocalServer("127.0.0.1", 0, request_timeout_s=REQUEST_TIMEOUT_S)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Client:
    """One keep-alive connection (use one per thread); reconnects when the server closes it."""

    def __init__(self, server: Any) -> None:
        self.host, self.port = server.httpd.server_address[:2]
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT_S)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.close()
                if attempt == 2:
                    raise
                continue
            out_headers = {k.lower(): v for k, v in resp.getheaders()}
            if out_headers.get("connection", "").lower() == "close":
                self.close()
            text = raw.decode()
            parsed: Any = text
            if text and out_headers.get("content-type", "").startswith("application/json"):
                parsed = json.loads(text)
            return resp.status, parsed, out_headers
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def raw_exchange(server: Any, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a new socket and read one response (status, lowercase headers, body)."""
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=CLIENT_TIMEOUT_S) as sock:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def is_error_shape(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and {"code", "message", "details"} <= set(body["error"])
    )
