"""`memos dev` as a user runs it: a child process, driven over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.client import MemosClient
from infra.local.services import free_port
from tests.e2e.dev import launch

KEY = "memos_e2e_test_key_0123456789"


def start_dev(data_dir: Path, redis_url: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")}
    env["MEMOS_DEV_API_KEY"] = KEY
    env["MEMOS_REDIS_URL"] = redis_url
    if os.environ.get("MEMOS_TEST_DATABASE_URL"):
        env["MEMOS_DATABASE_URL"] = os.environ["MEMOS_TEST_DATABASE_URL"]
    return launch(["--port", str(port), "--data-dir", str(data_dir)], env)


def stop_dev(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


@pytest.mark.e2e
def test_memos_dev_serves_the_api_and_keeps_data_across_restarts(services, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_dev(tmp_path / "data", services["redis_url"], port)
    try:
        client = MemosClient(url, KEY)
        health = client.request("GET", "/v1/health")
        assert health.status == 200 and health.body["status"] == "ok"
        assert re.fullmatch(r"[0-9a-f-]{36}", health.headers["x-request-id"])
        assert (
            MemosClient(url, None).request("POST", "/v1/query", {"namespace": "e2e", "query": "q"}).status
            == 401
        )

        r = client.ingest(
            {
                "namespace": "e2e",
                "items": [
                    {"session_id": "trip", "role": "user", "text": "We fly to Tokyo on April 4th"},
                    {"session_id": "trip", "role": "user", "text": "I am vegetarian"},
                    {"session_id": "work", "role": "user", "text": "The launch review is on Monday"},
                ],
            }
        )
        assert r.status == 200 and [m["status"] for m in r.body["memories"]] == ["created"] * 3
        q = client.query({"namespace": "e2e", "query": "when do we fly to Tokyo?", "session_id": "trip"})
        assert q.status == 200
        assert q.body["results"][0]["text"] == "We fly to Tokyo on April 4th"
        assert q.body["context_pack"]["tokens"] > 0

        bad = client.request("POST", "/v1/ingest", raw=b"{not json")
        assert bad.status == 400 and bad.body["error"]["code"] == "invalid_json"
        doc = client.request("GET", "/v1/openapi.json")
        assert "/v1/query" in doc.body["paths"]
        # The same key works as x-api-key.
        alt = MemosClient(url, None).request("GET", "/v1/memories?namespace=e2e", headers={"x-api-key": KEY})
        assert alt.status == 200 and len(alt.body["memories"]) == 3
    finally:
        out = stop_dev(proc)
    assert "stopped." in out

    if not os.environ.get("MEMOS_TEST_DATABASE_URL"):
        # Embedded PostgreSQL keeps its data folder: a restart finds the memories.
        proc = start_dev(tmp_path / "data", services["redis_url"], port)
        try:
            page = MemosClient(url, KEY).request("GET", "/v1/memories?namespace=e2e")
            assert page.status == 200 and len(page.body["memories"]) == 3
        finally:
            stop_dev(proc)


@pytest.mark.e2e
def test_memos_demo_shows_ranked_results_and_token_savings(services, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")}
    env["MEMOS_REDIS_URL"] = services["redis_url"]
    out = subprocess.run(
        [sys.executable, "-m", "infra.cli", "demo", "--data-dir", str(tmp_path / "d")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "re-sending one turn reports: duplicate" in out.stdout
    assert re.search(r"1\. \[0\.\d+ L[12]\] user: Important: I'm vegetarian", out.stdout)
    assert re.search(r"saved \d+%", out.stdout)
    assert re.search(r"condensations \(SQS → condense handler\): [1-9]", out.stdout)
    assert re.search(r"ops/stats condensations: [1-9]\d* × \d+ → \d+ tokens", out.stdout)
