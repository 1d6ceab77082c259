"""The key administration API: create (plaintext once), list (no secrets), revoke — within the grant."""

from __future__ import annotations

import json
import uuid

import pytest

from functions.authorizer.handler import forget_cached_keys
from memos.access.auth import hash_key
from tests.conftest import Api, make_key


@pytest.fixture
def tenant() -> str:
    return f"acme{uuid.uuid4().hex[:8]}"


def _create(api: Api, name: str, scopes: list[str], namespaces: list[str]):
    return api.call("POST", "/v1/keys", {"name": name, "scopes": scopes, "namespaces": namespaces})


def test_create_returns_the_key_once_and_it_works_within_its_grant(api, tenant, db_conn):
    status, body, headers = _create(api, "agent one", ["memory:read", "memory:write"], [f"{tenant}-*"])
    assert status == 201 and headers["x-request-id"]
    key = body["key"]
    assert key.startswith("memos_") and body["prefix"] == key[:14]
    assert body["scopes"] == ["memory:read", "memory:write"] and body["namespaces"] == [f"{tenant}-*"]
    assert body["revoked_at"] is None and uuid.UUID(body["key_id"])
    row = db_conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (body["key_id"],)).fetchone()
    assert row["key_hash"] == hash_key(key) and key not in json.dumps(row)
    audit = db_conn.execute(
        "SELECT actor, details FROM audit_events WHERE action = 'key_create' AND details->>'key_id' = %s",
        (body["key_id"],),
    ).fetchone()
    assert audit is not None and key not in json.dumps(audit["details"])

    agent = Api(key)
    ns = f"{tenant}-prod"
    status, _, _ = agent.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "hi"}
    )
    assert status == 200
    assert agent.call("POST", "/v1/query", {"namespace": ns, "query": "hi"})[0] == 200
    assert agent.call("POST", "/v1/query", {"namespace": f"{tenant}x", "query": "hi"})[0] == 403
    assert agent.call("GET", "/v1/keys")[0] == 403  # no admin scope


def test_list_shows_records_without_hashes_or_plaintext(api, tenant):
    _, created, _ = _create(api, "lister", ["memory:read"], [tenant])
    status, body, _ = api.call("GET", "/v1/keys")
    assert status == 200
    mine = [k for k in body["keys"] if k["key_id"] == created["key_id"]]
    assert len(mine) == 1
    assert set(mine[0]) == {
        "key_id", "name", "prefix", "scopes", "namespaces", "created_at", "revoked_at", "last_used_at"
    }  # fmt: skip
    text = json.dumps(body)
    assert created["key"] not in text and hash_key(created["key"]) not in text


def test_revoked_keys_stop_working(api, tenant):
    _, created, _ = _create(api, "short-lived", ["memory:read"], [tenant])
    agent = Api(created["key"])
    assert agent.call("POST", "/v1/query", {"namespace": tenant, "query": "x"})[0] == 200
    status, body, _ = api.call("DELETE", f"/v1/keys/{created['key_id']}")
    assert status == 200 and body["key_id"] == created["key_id"] and body["revoked_at"]
    # Valid keys are cached per process for the authorizer TTL (60 s); revocation shows after it.
    forget_cached_keys()
    status, err, _ = agent.call("POST", "/v1/query", {"namespace": tenant, "query": "x"})
    assert status == 401 and err["error"]["code"] == "unauthorized"
    listed = {k["key_id"]: k for k in api.call("GET", "/v1/keys")[1]["keys"]}
    assert listed[created["key_id"]]["revoked_at"] == body["revoked_at"]
    # Revoking twice finds nothing to revoke.
    assert api.call("DELETE", f"/v1/keys/{created['key_id']}")[0] == 404


@pytest.mark.parametrize("key_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
def test_revoking_an_unknown_or_malformed_id_is_404(api, key_id):
    status, body, _ = api.call("DELETE", f"/v1/keys/{key_id}")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_a_prefix_admin_grants_only_within_its_prefix(tenant, db_conn):
    admin = Api(make_key(["admin"], [f"{tenant}*"]))
    before = db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"]
    for grant in (["*"], ["other"], [f"{tenant[:-1]}*"], [f"{tenant}-a", "other*"]):
        status, body, _ = _create(admin, "too wide", ["memory:read"], grant)
        assert status == 403 and body["error"]["code"] == "forbidden", grant
    assert db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"] == before
    for grant in ([f"{tenant}*"], [f"{tenant}-x*"], [f"{tenant}-a", f"{tenant}"]):
        status, body, _ = _create(admin, "fits", ["memory:read", "admin"], grant)
        assert status == 201 and body["namespaces"] == grant, grant


def test_an_exact_admin_cannot_grant_a_prefix_of_its_namespace(tenant):
    admin = Api(make_key(["admin"], [tenant]))
    assert _create(admin, "prefix", ["memory:read"], [f"{tenant}*"])[0] == 403
    assert _create(admin, "exact", ["memory:read"], [tenant])[0] == 201


def test_a_prefix_admin_lists_and_revokes_only_keys_within_its_grant(api, tenant):
    admin = Api(make_key(["admin"], [f"{tenant}*"]))
    _, inside, _ = _create(api, "inside", ["memory:read"], [f"{tenant}-1"])
    _, straddling, _ = _create(api, "straddling", ["memory:read"], [f"{tenant}-1", "elsewhere"])
    _, outside, _ = _create(api, "outside", ["memory:read"], ["elsewhere"])
    status, body, _ = admin.call("GET", "/v1/keys")
    assert status == 200
    seen = {k["key_id"] for k in body["keys"]}
    assert inside["key_id"] in seen
    assert not seen & {straddling["key_id"], outside["key_id"]}
    assert all(all(n.startswith(tenant) for n in k["namespaces"]) for k in body["keys"])

    unknown = admin.call("DELETE", f"/v1/keys/{uuid.uuid4()}")
    for other in (straddling, outside):
        status, err, _ = admin.call("DELETE", f"/v1/keys/{other['key_id']}")
        assert (status, err) == unknown[:2]  # indistinguishable from a key that does not exist
    forget_cached_keys()
    assert Api(outside["key"]).call("POST", "/v1/query", {"namespace": "elsewhere", "query": "q"})[0] == 200
    assert admin.call("DELETE", f"/v1/keys/{inside['key_id']}")[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["root"], "namespaces": ["a"]},
        {"name": "x", "scopes": [], "namespaces": ["a"]},
        {"name": "x", "scopes": ["admin"], "namespaces": []},
        {"name": "x", "scopes": ["admin"], "namespaces": ["bad name"]},
        {"name": "x", "scopes": ["admin"], "namespaces": ["a**"]},
        {"name": "", "scopes": ["admin"], "namespaces": ["a"]},
        {"scopes": ["admin"], "namespaces": ["a"]},
        {"name": "x", "scopes": ["admin"], "namespaces": ["a"], "key": "memos_chosen_by_caller"},
    ],
)
def test_invalid_create_requests_are_422_and_store_nothing(api, body, db_conn):
    before = db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"]
    status, err, _ = api.call("POST", "/v1/keys", body)
    assert status == 422 and err["error"]["code"] == "validation_error" and err["error"]["details"]
    assert db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"] == before


def test_non_admin_keys_and_anonymous_callers_are_refused(tenant):
    reader = Api(make_key(["memory:read", "memory:write", "ops:read"], ["*"]))
    for method, path, body in (
        ("POST", "/v1/keys", {"name": "x", "scopes": ["admin"], "namespaces": ["*"]}),
        ("GET", "/v1/keys", None),
        ("DELETE", f"/v1/keys/{uuid.uuid4()}", None),
    ):
        assert reader.call(method, path, body)[0] == 403
        assert reader.call(method, path, body, key=None)[0] == 401
