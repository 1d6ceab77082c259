"""A tiny HTTP client for the v1 API (stdlib only): used by the demo, eval and e2e tests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any

    def ok(self) -> Any:
        if self.status >= 400:
            raise RuntimeError(f"HTTP {self.status}: {self.body}")
        return self.body


class MemosClient:
    """Retries a 429 (honoring Retry-After) up to ``max_429_retries`` times and counts it in ``throttled``,
    so a rate-limited run is slower, never silently wrong (``memos eval`` prints the count)."""

    def __init__(
        self, base_url: str, api_key: str | None, timeout_s: float = 30, max_429_retries: int = 20
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_429_retries = max_429_retries
        self.throttled = 0  # 429 responses that were retried

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> ApiResponse:
        for _ in range(self.max_429_retries):
            resp = self._once(method, path, body, headers, raw)
            if resp.status != 429:
                return resp
            self.throttled += 1
            time.sleep(min(30.0, float(resp.headers.get("retry-after") or 1)))
        return self._once(method, path, body, headers, raw)

    def _once(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> ApiResponse:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if self.api_key and "Authorization" not in hdrs and "x-api-key" not in hdrs:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                status, resp_headers, payload = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, resp_headers, payload = err.code, dict(err.headers), err.read()
        text = payload.decode("utf-8", errors="replace")
        ctype = resp_headers.get("Content-Type", "")
        parsed: Any = json.loads(text) if "json" in ctype and text else text
        return ApiResponse(status, {k.lower(): v for k, v in resp_headers.items()}, parsed)

    def ingest(self, payload: dict[str, Any], **kw: Any) -> ApiResponse:
        return self.request("POST", "/v1/ingest", payload, **kw)

    def query(self, payload: dict[str, Any]) -> ApiResponse:
        return self.request("POST", "/v1/query", payload)
