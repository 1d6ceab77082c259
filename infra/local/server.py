"""The local API: HTTP requests become API Gateway proxy events for the same handlers.

Routes come from ``functions.routes`` (the table CDK also reads); the key check is the cloud
authorizer's own function, and its identity rides in ``requestContext.authorizer`` as in AWS.

Concurrency: the HTTP server is threaded (reading requests, the key check and writing responses
overlap), but handler invocations run one at a time in the whole process, as one Lambda instance
runs one invocation at a time. A lock per function would not do: Powertools 3.x keeps the current
event and Lambda context on the ``BaseRouter`` class, shared by every resolver in the process, and
Logger/Metrics state is per process too. ``invoke`` is that single entry point; the local
condensation and decay workers go through it as well. So a long request (a big export, a decay
pass) holds up other requests locally; it never runs them under its identity. With ``instances``
> 1 (``memos dev --instances N``) the API's invocations run in N processes instead, N at a time, as
N Lambda instances would (``infra.local.instances``).

HTTP edge cases answer in the API's error shape (``{"error": {code, message, details}}``):
unknown methods (501), oversized header lines or too many headers (431), a body that is not UTF-8
(400 ``invalid_body``), a bad or too large ``Content-Length`` (400/413), and a body shorter than its
``Content-Length`` (400 after ``request_timeout_s`` without data, then the connection closes).
Path parameters arrive percent-decoded in ``pathParameters`` and ``path`` keeps the raw form, as
API Gateway REST APIs send them.

Per-key rate limits are the handlers' own (functions/shared/limits.py), as in AWS.

Streaming: each request gets a chunked writer in its Lambda context (``response_stream``); a
handler that streams (``functions.shared.api.event_stream``, used by ``/v1/answer/stream``) writes
each piece as it is produced, one HTTP/1.1 chunk each, like a streaming Lambda runtime. The
deployed API buffers that route (docs/DEPLOY.md).
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from functions import routes
from functions.routes import Route
from functions.shared.errors import error_body, proxy_error
from infra.local.instances import Instances
from memos.kernel.config import get_settings
from memos.kernel.errors import MemosError

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# One invocation at a time in this process (see the module docstring for why not one per function).
_INVOCATION_LOCK = threading.Lock()


def invoke(
    handler: Handler, function: str, event: dict[str, Any], response_stream: Any = None
) -> dict[str, Any]:
    """Call ``handler`` with ``event`` the way Lambda does: a fresh context, nothing else running.
    With ``response_stream`` a handler may write its response as it produces it
    (``functions.shared.api.event_stream``), as a streaming Lambda runtime allows."""
    context = lambda_context(function)
    if response_stream is not None:
        context.response_stream = response_stream
    with _INVOCATION_LOCK:
        return handler(event, context)


class Router:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def handler(self, function: str) -> Handler:
        if function not in self._handlers:
            self._handlers[function] = importlib.import_module(f"functions.{function}.handler").handler
        return self._handlers[function]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether the path exists under another method)."""
        route, params, path_known = routes.match(method, path)
        # decoded after matching: %2F stays inside a segment
        return route, {k: unquote(v) for k, v in params.items()}, path_known


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
    body: str,
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
        "body": body or None,
        "isBase64Encoded": False,
    }


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return proxy_error(status, code, message)  # the API's one error shape (functions/shared/errors.py)


class LocalApi:
    """Dispatches one HTTP request the way API Gateway + the authorizer would."""

    def __init__(self, static_dir: Path | None = None, instances: Instances | None = None) -> None:
        self.router = Router()
        self.static_dir = static_dir
        self.instances = instances  # None: the handlers run in this process, one at a time

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes, stream: Any = None
    ) -> dict[str, Any]:
        """The proxy response; a handler that streams (given ``stream``) has written it there instead."""
        request_id = str(uuid.uuid4())
        resp = self._respond(method, urlsplit(target), headers, body, request_id, stream)
        resp.setdefault("headers", {})
        resp["headers"].setdefault("x-request-id", request_id)
        return resp

    def _respond(
        self,
        method: str,
        split: SplitResult,
        headers: dict[str, str],
        body: bytes,
        request_id: str,
        stream: Any = None,
    ) -> dict[str, Any]:
        from functions.authorizer.handler import authorize

        route, params, path_known = self.router.match(method, split.path)
        if route is None:
            if path_known:
                return _error(405, "method_not_allowed", "method not allowed")
            return _error(404, "not_found", "no such route")
        who = None
        if route.scope is not None:  # API Gateway runs the authorizer before anything else
            try:
                who = authorize(headers)
            except MemosError as exc:
                return _error(exc.status, exc.code, exc.message)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "invalid_body", "the request body is not valid UTF-8")
        event = make_event(route, params, method, split.path, split.query, headers, text, request_id)
        if who is not None:
            event["requestContext"]["authorizer"] = who.to_context()
        if self.instances is not None:
            return self.instances.invoke(route.function, event, stream)
        return invoke(self.router.handler(route.function), route.function, event, stream)


# Codes for the HTTP server's own errors (raised before a request reaches a route).
_HTTP_ERROR_CODES = {
    400: "bad_request",
    408: "request_timeout",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
    501: "not_implemented",
    505: "http_version_not_supported",
}


class _ChunkedStream:
    """A response written as the handler produces it: HTTP/1.1 chunked transfer, one chunk per
    write, flushed at once (``functions.shared.api.ResponseStream``)."""

    def __init__(self, http: BaseHTTPRequestHandler) -> None:
        self.http = http
        self.started = False

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.http.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding"):
                self.http.send_header(k, v)
        self.http.send_header("Transfer-Encoding", "chunked")
        self.http.end_headers()
        self.http.wfile.flush()
        self.started = True

    def write(self, data: str) -> None:
        raw = data.encode()
        if raw:
            self.http.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.http.wfile.flush()

    def finish(self) -> None:
        try:
            self.http.wfile.write(b"0\r\n\r\n")
            self.http.wfile.flush()
        except OSError:
            self.http.close_connection = True


def _make_http_handler(api: LocalApi, request_timeout_s: float) -> type[BaseHTTPRequestHandler]:
    class HttpHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the body waits ~40 ms for
        # the client's delayed ACK (measured in docs/BENCHMARKS.md).
        disable_nagle_algorithm = True
        server_version = "memos-local"
        # A socket timeout bounds every read: a body shorter than its Content-Length, or a client
        # that goes quiet mid-request, frees the thread instead of holding it forever.
        timeout = request_timeout_s

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the handlers log
            pass

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """The base class's own errors (bad request line, 414, 431, 501...) in the API's shape."""
            self._send_json_error(
                code,
                _HTTP_ERROR_CODES.get(code, "http_error"),
                message or self.responses.get(code, ("error",))[0],
            )

        def _send_json_error(self, status: int, code: str, message: str) -> None:
            """Answer and close: the rest of the request (an unread body) is not trusted as a next request."""
            data = json.dumps(error_body(code, message)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-request-id", str(uuid.uuid4()))
            self.send_header("Connection", "close")  # also sets close_connection
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(data)

        def _read_body(self) -> bytes | None:
            """The request body, or None after answering why it cannot be read."""
            if self.headers.get("Transfer-Encoding"):
                self._send_json_error(411, "length_required", "send the body with a Content-Length")
                return None
            raw = (self.headers.get("Content-Length") or "0").strip()
            if not raw.isdigit():
                self._send_json_error(400, "invalid_body", "the Content-Length header is not a number")
                return None
            length, limit = int(raw), get_settings().max_body_bytes
            if length > limit:
                self._send_json_error(413, "payload_too_large", f"the request body exceeds {limit} bytes")
                return None
            try:
                body = self.rfile.read(length) if length else b""
            except TimeoutError:
                body = b""
            if len(body) < length:
                self._send_json_error(
                    400, "invalid_body", "the request body is shorter than its Content-Length"
                )
                return None
            return body

        def _serve(self) -> None:
            body = self._read_body()
            if body is None:
                return
            if self.command == "GET" and api.static_dir and not self.path.startswith("/v1/"):
                return self._static()
            headers = {k: v for k, v in self.headers.items()}
            stream = _ChunkedStream(self)
            resp = api.dispatch(self.command, self.path, headers, body, stream)
            if stream.started:
                return stream.finish()
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
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        static_dir: Path | None = None,
        request_timeout_s: float = 30.0,
        instances: int = 1,
    ) -> None:
        self.api = LocalApi(static_dir)
        self.httpd = ThreadingHTTPServer((host, port), _make_http_handler(self.api, request_timeout_s))
        self.instances: Instances | None = None
        if instances > 1:  # that many instance processes run the handlers (``infra.local.instances``)
            try:
                self.instances = self.api.instances = Instances(instances)
            except BaseException:
                self.httpd.server_close()
                raise
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
        if self.instances is not None:
            self.instances.stop()
