"""A revoked key is refused at once on the process that revoked it, with its cache entry warm: over
the API (DELETE /v1/keys/{id} on the local server), through the CLI's path (``auth.revoke_key``),
and by the cloud authorizer's handler in the same process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.authorizer.handler import authorize
from functions.authorizer.handler import handler as authorizer_handler
from infra.cli import main as cli_main
from infra.local.server import lambda_context
from memos.access import auth
from memos.kernel.errors import Unauthorized
from memos.store import db
from tests.fault.local_http import Client, is_error_shape, local_server


@pytest.fixture(scope="module")
def server(env: dict[str, Any]) -> Iterator[Any]:
    with local_server() as srv:
        yield srv


def _new_key(client: Client, admin_key: str, ns: str) -> tuple[str, str]:
    status, body, _ = client.call(
        "POST",
        "/v1/keys",
        {"name": "revocation", "scopes": ["memory:read", "memory:write"], "namespaces": [ns]},
        key=admin_key,
    )
    assert status in (200, 201), body
    return body["key"], body["key_id"]


def _list(client: Client, key: str, ns: str) -> tuple[int, Any]:
    status, body, _ = client.call("GET", f"/v1/memories?namespace={ns}", key=key)
    return status, body


def test_a_key_revoked_over_the_api_is_refused_on_the_next_request(server: Any, admin_key: str):
    ns = f"rev{uuid.uuid4().hex[:6]}"
    client = Client(server)
    key, key_id = _new_key(client, admin_key, ns)
    other, _ = _new_key(client, admin_key, ns)
    for k in (key, other):  # warm the authorizer cache for both keys
        assert _list(client, k, ns)[0] == 200
    assert auth.key_cache.get(auth.hash_key(key)) is not None

    status, body, _ = client.call("DELETE", f"/v1/keys/{key_id}", key=admin_key)
    assert status == 200 and body["revoked_at"], body

    status, body = _list(client, key, ns)
    assert status == 401 and is_error_shape(body) and body["error"]["code"] == "unauthorized"
    status, _, _ = client.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "after"}, key=key
    )
    assert status == 401
    assert _list(client, other, ns)[0] == 200, "only the revoked key is refused"


def test_a_key_revoked_with_the_cli_is_refused_at_once_by_the_authorizer_in_that_process(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
):
    ns = f"rev{uuid.uuid4().hex[:6]}"
    with db.connection() as conn:
        key, row = auth.create_key(conn, "cli-revocation", ["memory:read"], [ns])
        conn.commit()
    headers = {"Authorization": f"Bearer {key}"}
    event = {"headers": headers, "methodArn": "arn:aws:execute-api:local:0:api/v1/GET/v1/memories"}
    assert authorize(headers).key_id == str(row["id"])
    assert authorizer_handler(event, lambda_context("authorizer"))["policyDocument"]["Statement"][0][
        "Effect"
    ] == ("Allow")

    assert cli_main(["keys", "revoke", str(row["id"])]) == 0
    assert json.loads(capsys.readouterr().out) == {"revoked": str(row["id"])}

    with pytest.raises(Unauthorized):
        authorize(headers)
    with pytest.raises(Exception, match="Unauthorized"):  # API Gateway's contract for a 401
        authorizer_handler(event, lambda_context("authorizer"))


def test_a_revocation_that_rolls_back_leaves_the_key_working(env: dict[str, Any]):
    """Dropping the cache entry is safe when the revoking transaction does not commit."""
    ns = f"rev{uuid.uuid4().hex[:6]}"
    with db.connection() as conn:
        key, row = auth.create_key(conn, "rollback", ["memory:read"], [ns])
        conn.commit()
    headers = {"x-api-key": key}
    assert authorize(headers).key_id == str(row["id"])
    with db.connection() as conn:
        auth.revoke_key(conn, str(row["id"]))
        conn.rollback()
    assert authorize(headers).key_id == str(row["id"])
