"""The local API: HTTP requests become API Gateway proxy events for the same handlers.

Routes come from ``infra.routes`` (the table CDK also reads); the key check is the cloud
authorizer's own function, and its identity rides in ``requestContext.authorizer`` as in AWS.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.routes import ROUTES, Route
from memos.kernel.errors import MemosError

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _compile(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


class Router:
    def __init__(self) -> None:
        self.table = [(route, _compile(route.path)) for route in ROUTES]
        self._handlers: dict[str, Handler] = {}

    def handler(self, function: str) -> Handler:
        if function not in self._handlers:
            self._handlers[function] = importlib.import_module(f"functions.{function}.handler").handler
        return self._handlers[function]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether the path exists under another method)."""
        path_known = False
        for route, pattern in self.table:
            m = pattern.match(path)
            if m:
                path_known = True
                if route.method == method:
                    return route, m.groupdict(), True
        return None, {}, path_known


def lambda_context(function: str) -> Any:
    return SimpleNamespace(
        function_name=f"memos-local-{function}",
        memory_limit_in_mb=512,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:local:000000000000:function:memos-{function}",
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: 30_000,
    )


def make_event(
    route: Route,
    params: dict[str, str],
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    request_id: str,
) -> dict[str, Any]:
    qs = parse_qs(query, keep_blank_values=True)
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in qs.items()} or None,
        "multiValueQueryStringParameters": qs or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "resourcePath": route.path,
            "httpMethod": method,
            "stage": "local",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": code, "message": message, "details": []}}),
    }


def _rate_limited(key_id: str) -> dict[str, Any] | None:
    """A 429 when this key is over its rate (API Gateway usage plans do this in the cloud)."""
    from memos.access import ratelimit

    decision = ratelimit.check(key_id)
    if decision.allowed:
        return None
    resp = _error(429, "rate_limited", "too many requests for this API key; retry later")
    resp["headers"]["Retry-After"] = decision.retry_after_header
    return resp


class LocalApi:
    """Dispatches one HTTP request the way API Gateway + the authorizer would."""

    def __init__(self, static_dir: Path | None = None) -> None:
        self.router = Router()
        self.static_dir = static_dir

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        from functions.authorizer.handler import authorize

        split = urlsplit(target)
        request_id = str(uuid.uuid4())
        route, params, path_known = self.router.match(method, split.path)
        resp: dict[str, Any] | None = None
        if route is None:
            resp = _error(
                405 if path_known else 404,
                "method_not_allowed" if path_known else "not_found",
                "method not allowed" if path_known else "no such route",
            )
        else:
            event = make_event(route, params, method, split.path, split.query, headers, body, request_id)
            if route.scope is not None:
                try:
                    who = authorize(headers)
                    event["requestContext"]["authorizer"] = who.to_context()
                except MemosError as exc:
                    resp = _error(exc.status, exc.code, exc.message)
                else:
                    resp = _rate_limited(who.key_id)
            if resp is None:
                resp = self.router.handler(route.function)(event, lambda_context(route.function))
        assert resp is not None
        resp.setdefault("headers", {})
        resp["headers"].setdefault("x-request-id", request_id)
        return resp


def _make_http_handler(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class HttpHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the body waits ~40 ms for
        # the client's delayed ACK (measured in docs/BENCHMARKS.md).
        disable_nagle_algorithm = True
        server_version = "memos-local"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the handlers log
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "GET" and api.static_dir and not self.path.startswith("/v1/"):
                return self._static()
            headers = {k: v for k, v in self.headers.items()}
            resp = api.dispatch(self.command, self.path, headers, body)
            payload = resp.get("body") or ""
            data = payload.encode() if isinstance(payload, str) else payload
            self.send_response(int(resp.get("statusCode", 200)))
            sent = set()
            for k, vs in (resp.get("multiValueHeaders") or {}).items():
                for v in vs:
                    self.send_header(k, str(v))
                sent.add(k.lower())
            for k, v in (resp.get("headers") or {}).items():
                if k.lower() not in sent and k.lower() != "content-length":
                    self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _static(self) -> None:
            assert api.static_dir is not None
            rel = urlsplit(self.path).path.lstrip("/") or "index.html"
            target = (api.static_dir / rel).resolve()
            if not str(target).startswith(str(api.static_dir.resolve())) or not target.is_file():
                target = api.static_dir / "index.html"
            data = target.read_bytes() if target.is_file() else b"not found"
            ctype = {
                ".html": "text/html",
                ".js": "text/javascript",
                ".css": "text/css",
                ".svg": "image/svg+xml",
                ".png": "image/png",
            }.get(target.suffix, "application/octet-stream")
            self.send_response(200 if target.is_file() else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _serve

    return HttpHandler


class LocalServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 8080, static_dir: Path | None = None) -> None:
        self.api = LocalApi(static_dir)
        self.httpd = ThreadingHTTPServer((host, port), _make_http_handler(self.api))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="memos-http", daemon=True)
        self.thread.start()
        time.sleep(0.01)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
