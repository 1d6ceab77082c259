"""The migrate Lambda: CloudFormation custom-resource events, and the first-key bootstrap invoke."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from functions.migrate.handler import handler
from memos.kernel.errors import BadRequest

CTX = SimpleNamespace(
    function_name="migrate",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:x",
    aws_request_id="r1",
)


def test_create_and_update_apply_pending_migrations_and_delete_is_a_no_op(env):
    out = handler({"RequestType": "Create"}, CTX)
    assert (
        out["PhysicalResourceId"] == "memos-schema" and out["Data"]["Applied"] == "none"
    )  # already migrated
    assert handler({"RequestType": "Update", "PhysicalResourceId": "memos-schema"}, CTX)["Data"]
    assert handler({"RequestType": "Delete", "PhysicalResourceId": "memos-schema"}, CTX) == {
        "PhysicalResourceId": "memos-schema"
    }


def test_bootstrap_invoke_creates_a_working_key(env):
    from tests.conftest import Api

    out = handler({"action": "create_key", "name": "first", "scopes": ["admin"], "namespaces": ["*"]}, CTX)
    assert out["key"].startswith("memos_") and out["scopes"] == ["admin"]
    assert Api(out["key"]).call("GET", "/v1/memories?namespace=anything")[0] == 200
    with pytest.raises(BadRequest):
        handler({"action": "create_key", "name": "bad", "scopes": ["root"], "namespaces": ["*"]}, CTX)
