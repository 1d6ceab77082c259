"""L2 is the source of truth: Redis loss loses nothing; a dependency down gives a clean 503."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis

from infra.local.services import free_port
from memos import working_memory
from memos.kernel.config import get_settings
from memos.store.migrate import apply_migrations
from tests.services import env_override


def ingest(api, ns, texts, session="s"):
    return api.call(
        "POST",
        "/v1/ingest",
        {"namespace": ns, "items": [{"session_id": session, "role": "user", "text": t} for t in texts]},
    )


def test_l1_window_is_rebuilt_from_l2_when_redis_lost_it(api, ns, env):
    ingest(api, ns, [f"step {i} of the recipe" for i in range(5)])
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    key = working_memory.window_key(ns, "s")
    assert r.llen(key) == 5
    r.delete(key)  # Redis restarted or evicted the window
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "recipe step", "session_id": "s"})[1]
    assert [t["text"] for t in body["context_pack"]["l1_window"]] == [
        f"step {i} of the recipe" for i in range(5)
    ]
    assert r.llen(key) == 5  # and written back
    assert json.loads(r.lindex(key, 0))["text"] == "step 4 of the recipe"


def test_a_missing_window_is_not_refilled_with_only_the_newest_turn(api, ns, env):
    ingest(api, ns, ["first turn", "second turn"])
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    r.delete(working_memory.window_key(ns, "s"))
    ingest(api, ns, ["third turn"])
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "turn", "session_id": "s"})[1]
    assert [t["text"] for t in body["context_pack"]["l1_window"]] == [
        "first turn",
        "second turn",
        "third turn",
    ]


def test_a_window_holding_exactly_l2s_turns_is_served_from_redis_as_cached(api, ns, env):
    ingest(api, ns, ["first turn", "second turn"])
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    key = working_memory.window_key(ns, "s")
    newest = json.loads(r.lindex(key, 0))
    r.lset(key, 0, json.dumps({**newest, "text": "second turn, as the cache holds it"}))
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "turn", "session_id": "s"})[1]
    assert [t["text"] for t in body["context_pack"]["l1_window"]] == [
        "first turn",
        "second turn, as the cache holds it",
    ]


def test_a_window_holding_a_turn_l2_does_not_is_rebuilt_at_the_query(api, ns, env):
    ingest(api, ns, ["first turn", "second turn"])
    r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
    key = working_memory.window_key(ns, "s")
    stray = {**json.loads(r.lindex(key, 0)), "memory_id": "00000000-0000-4000-8000-000000000000"}
    r.lpush(key, json.dumps({**stray, "text": "a turn L2 never had"}))
    body = api.call("POST", "/v1/query", {"namespace": ns, "query": "turn", "session_id": "s"})[1]
    assert [t["text"] for t in body["context_pack"]["l1_window"]] == ["first turn", "second turn"]
    assert [json.loads(v)["text"] for v in r.lrange(key, 0, -1)] == ["second turn", "first turn"]


def test_with_redis_down_ingest_and_query_still_work_from_l2(api, ns, env, db_conn):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with env_override(MEMOS_REDIS_URL=dead):
        status, body, _ = ingest(api, ns, ["written while Redis was down"])
        assert status == 200 and body["memories"][0]["status"] == "created"
        status, q, _ = api.call(
            "POST", "/v1/query", {"namespace": ns, "query": "Redis down", "session_id": "s"}
        )
        assert status == 200
        assert q["context_pack"]["l1_window"][0]["text"] == "written while Redis was down"
        status, h, _ = api.call("GET", "/v1/health", key=None)
        assert status == 503 and h["dependencies"]["redis"]["status"] == "down"
        assert h["dependencies"]["postgres"]["status"] == "ok"
        # An Idempotency-Key needs its store: refused cleanly rather than run twice later.
        status, err, _ = api.call(
            "POST",
            "/v1/ingest",
            {"namespace": ns, "session_id": "s", "role": "user", "text": "keyed"},
            headers={"Idempotency-Key": "k1"},
        )
        assert status == 503 and err["error"]["code"] == "dependency_unavailable"
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 1
    )


def test_with_postgres_down_writes_get_a_clean_503_and_nothing_partial(api, ns, env, db_conn):
    # The key is checked (and cached) first, as API Gateway's authorizer cache would.
    assert api.call("POST", "/v1/query", {"namespace": ns, "query": "warm up"})[0] == 200
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with env_override(MEMOS_DATABASE_URL=dead, MEMOS_DB_CONNECT_TIMEOUT_S="1"):
        _warm_cache(api.key)
        status, body, headers = ingest(api, ns, ["lost?"])
        assert status == 503
        assert body["error"]["code"] == "dependency_unavailable" and "PostgreSQL" in body["error"]["message"]
        assert "Traceback" not in json.dumps(body) and headers["x-request-id"]
        status, h, _ = api.call("GET", "/v1/health", key=None)
        assert status == 503 and h["dependencies"]["postgres"]["status"] == "down"
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 0
    )


def _warm_cache(key: str) -> None:
    from memos.access.auth import Identity, hash_key, key_cache

    key_cache.put(hash_key(key), Identity("warm", frozenset({"admin"}), ("*",)))


def test_health_reports_each_dependency_with_latency(api):
    status, body, _ = api.call("GET", "/v1/health", key=None)
    assert status == 200 and body["status"] == "ok"
    for name in ("postgres", "redis", "queue"):
        assert body["dependencies"][name]["status"] == "ok"
        assert body["dependencies"][name]["latency_ms"] > 0


def test_openapi_document_lists_every_route(api):
    from functions.routes import ROUTES

    assert api.call("GET", "/v1/openapi.json", key=None)[0] == 401  # only health answers without a key
    status, doc, _ = api.call("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    expected = {(r.method, r.path) for r in ROUTES if r.path != "/v1/openapi.json"}
    assert expected <= listed
    assert "IngestRequest" in doc["components"]["schemas"]


def test_migrations_are_idempotent_and_refuse_edited_history(env):
    url = env["pg_url"]
    assert apply_migrations(url, get_settings().embed_dim) == []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
        try:
            with pytest.raises(RuntimeError, match="changed after it was applied"):
                apply_migrations(url, get_settings().embed_dim)
        finally:
            from memos.store.migrate import load_migrations

            real = load_migrations(get_settings().embed_dim)[0].checksum
            conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1", (real,))


def test_unknown_route_and_wrong_method_answer_in_the_error_shape(api):
    status, body, _ = api.call("GET", "/v1/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = api.call("DELETE", "/v1/ingest")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
