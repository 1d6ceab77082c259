"""Per-key rate limits: a Redis token bucket; over the limit is a 429 with Retry-After; Redis down fails open."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import redis

from infra.local.services import free_port
from memos.access import ratelimit
from tests.conftest import Api, make_key
from tests.services import env_override


@pytest.fixture
def low_limit(monkeypatch):
    """A 2-token bucket refilled at 1 token/s (the settings fields default to 50/s and 100)."""

    def use(rate: float = 1.0, burst: int = 2) -> None:
        monkeypatch.setattr(
            ratelimit, "get_settings", lambda: SimpleNamespace(rate_limit_rps=rate, rate_limit_burst=burst)
        )

    use()
    return use


def _query(api: Api, ns: str):
    return api.call("POST", "/v1/query", {"namespace": ns, "query": "anything"})


def test_a_key_over_its_burst_gets_429_in_the_error_shape_with_retry_after(low_limit, ns, db_conn):
    api = Api(make_key(["memory:read", "memory:write"], [ns]))
    assert _query(api, ns)[0] == 200
    assert _query(api, ns)[0] == 200
    status, body, headers = _query(api, ns)
    assert status == 429
    assert body == {"error": {"code": "rate_limited", "message": body["error"]["message"], "details": []}}
    assert headers["retry-after"] == "1" and headers["x-request-id"]
    # A throttled write never reaches the handler: nothing stored.
    status, _, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "x"}
    )
    assert status == 429
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 0
    )


def test_the_bucket_refills_at_the_configured_rate(low_limit, ns):
    low_limit(rate=2.0, burst=1)
    api = Api(make_key(["memory:read"], [ns]))
    assert _query(api, ns)[0] == 200
    assert _query(api, ns)[0] == 429  # well within the 500 ms a token takes to come back
    time.sleep(0.6)  # 2 tokens/s: one token back after 500 ms
    assert _query(api, ns)[0] == 200


def test_each_key_has_its_own_bucket(low_limit, ns):
    low_limit(rate=0.5, burst=1)
    first = Api(make_key(["memory:read"], [ns]))
    second = Api(make_key(["memory:read"], [ns]))
    assert _query(first, ns)[0] == 200
    assert _query(first, ns)[0] == 429
    assert _query(second, ns)[0] == 200


def test_public_routes_and_rejected_keys_are_not_limited_per_key(low_limit):
    low_limit(rate=0.5, burst=1)
    anon = Api(None)
    assert all(anon.call("GET", "/v1/health")[0] == 200 for _ in range(3))
    assert all(anon.call("POST", "/v1/query", {"namespace": "x", "query": "q"})[0] == 401 for _ in range(3))


def test_the_bucket_is_one_hash_tagged_key_per_api_key(low_limit, ns, env):
    api = Api(make_key(["memory:read"], [ns]))
    assert _query(api, ns)[0] == 200
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    from functions.authorizer.handler import authorize

    key_id = authorize({"Authorization": f"Bearer {api.key}"}).key_id
    bucket = ratelimit.bucket_key(key_id)
    assert bucket == f"memos:rl:{{{key_id}}}"
    state = r.hgetall(bucket)
    assert float(state["tokens"]) == pytest.approx(1.0, abs=0.01)
    assert 0 < r.pttl(bucket) <= 3000  # expires once a full bucket would have refilled


def test_with_redis_down_requests_are_allowed_fail_open(low_limit, ns):
    low_limit(rate=0.5, burst=1)
    api = Api(make_key(["memory:read"], [ns]))
    with env_override(MEMOS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        statuses = [_query(api, ns)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 200]


def test_a_rate_of_zero_turns_limiting_off(low_limit, ns):
    low_limit(rate=0, burst=1)
    api = Api(make_key(["memory:read"], [ns]))
    assert [_query(api, ns)[0] for _ in range(4)] == [200] * 4


def _port_with_free_cluster_bus() -> int:
    """A free port P whose cluster bus port P + 10000 is free and valid (≤ 65535)."""
    import socket

    for _ in range(200):
        port = free_port()
        if port + 10_000 > 65_535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port
    raise RuntimeError("no port pair free for a cluster-mode redis-server")


@pytest.fixture
def cluster_redis(tmp_path):
    """A one-node Redis Cluster owning every slot: what ElastiCache cluster mode looks like."""
    import shutil
    import subprocess

    port = _port_with_free_cluster_bus()
    args = ["--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes"]
    args += ["--cluster-config-file", str(tmp_path / "nodes.conf"), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", *args, "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # 127.0.0.1, not "localhost": the server binds IPv4 only and localhost may resolve to ::1.
        plain = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                plain.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        while plain.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") < 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the one-node cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        yield redis.RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_bucket_script_runs_on_a_cluster_mode_redis(cluster_redis):
    bucket = ratelimit.TokenBucket(cluster_redis)
    key_id = "4f1c1d1e-0000-4000-8000-000000000001"
    decisions = [bucket.take(key_id, rate_per_s=0.5, burst=2) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after_s == pytest.approx(2.0, abs=0.05)
    assert decisions[2].retry_after_header == "2"
    assert cluster_redis.keyslot(ratelimit.bucket_key(key_id)) == cluster_redis.keyslot(f"{{{key_id}}}")


def test_the_api_function_itself_limits_so_aws_behaves_like_the_local_server(low_limit, ns, env):
    """API Gateway hands the handler the authorizer's identity; the handler takes the token."""
    import json
    import uuid

    from functions.api_query.handler import handler
    from infra.local.server import lambda_context

    key_id = str(uuid.uuid4())

    def call() -> dict:
        event = {
            "httpMethod": "POST",
            "path": "/v1/query",
            "resource": "/v1/query",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"namespace": ns, "query": "anything"}),
            "requestContext": {"authorizer": {"key_id": key_id, "scopes": "memory:read", "namespaces": ns}},
        }
        return handler(event, lambda_context("api_query"))

    assert [call()["statusCode"] for _ in range(2)] == [200, 200]
    limited = call()
    assert limited["statusCode"] == 429
    assert limited["headers"]["Retry-After"] == "1" and limited["headers"]["x-request-id"]
    assert json.loads(limited["body"])["error"]["code"] == "rate_limited"
