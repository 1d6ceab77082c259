"""Every function in the synthesized template imports from its assets and answers its event."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS
from tests.bundle.conftest import Bundle, Report, run_in_bundle
from tests.conftest import make_key

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("functions", "memos")


def _environment(bundle: Bundle, logical_id: str, services: dict[str, Any]) -> dict[str, str]:
    """The function's template environment (literal values), pointed at this run's services."""
    declared = bundle.functions[logical_id].get("Environment", {}).get("Variables", {})
    env = {k: v for k, v in declared.items() if isinstance(v, str)}
    env.update(
        {
            "PATH": "/usr/bin:/bin",
            "MEMOS_DATABASE_URL": services["pg_url"],
            "MEMOS_REDIS_URL": services["redis_url"],
            "MEMOS_REDIS_CLUSTER": "false",  # the test Redis is a single node
            "MEMOS_CONDENSE_QUEUE_URL": services["sqs"].queue_url,
            "MEMOS_CONDENSE_DLQ_URL": services["sqs"].dlq_url,
            "MEMOS_AWS_ENDPOINT_URL": services["sqs"].endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _logical_id(bundle: Bundle, name: str) -> str:
    handler = f"functions.{name}.handler.handler"
    ids = [lid for lid, p in bundle.functions.items() if p["Handler"] == handler]
    assert len(ids) == 1, f"{handler}: {ids}"
    return ids[0]


def invoke(bundle: Bundle, services: dict[str, Any], name: str, events: list[dict[str, Any]]) -> Report:
    lid = _logical_id(bundle, name)
    report = run_in_bundle(
        bundle.path, bundle.functions[lid]["Handler"], events, _environment(bundle, lid, services)
    )
    assert report.outside == [], f"{name} loaded modules from outside the bundle: {report.outside}"
    _assert_first_party_code_is_in_the_synthesized_assets(bundle, report)
    return report


def _assert_first_party_code_is_in_the_synthesized_assets(bundle: Bundle, report: Report) -> None:
    """The local layer is a twin built for this interpreter: its first-party files must exist,
    byte for byte, in the assets CDK synthesized for Lambda."""
    del report  # the check covers the whole first-party tree, whatever a handler loaded
    local = bundle.local_layer / "python" / "memos"
    deployed = bundle.layer_asset / "python" / "memos"
    for path in local.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            twin = deployed / path.relative_to(local)
            assert twin.is_file() and twin.read_bytes() == path.read_bytes(), f"{twin} differs or is missing"


def api_event(
    method: str,
    resource: str,
    *,
    path: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    authorizer: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the gateway sends it after the authorizer."""
    request_context: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "resourcePath": resource,
        "httpMethod": method,
        "stage": "dev",
        "identity": {"sourceIp": "203.0.113.7"},
    }
    if authorizer is not None:
        request_context["authorizer"] = {**authorizer, "principalId": authorizer["key_id"]}
    return {
        "resource": resource,
        "path": path or resource,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": request_context,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


@pytest.fixture(scope="module")
def namespace() -> str:
    return f"bundle-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def identity(bundle: Bundle, env: dict[str, Any], namespace: str) -> dict[str, str]:
    """The authorizer context for an admin key of ``namespace``, as the bundled authorizer gives it."""
    key = make_key(["admin", "memory:read", "memory:write", "ops:read"], [namespace])
    arn = "arn:aws:execute-api:us-east-1:000000000000:abc123/dev/POST/v1/query"
    event = {"type": "REQUEST", "methodArn": arn, "headers": {"Authorization": f"Bearer {key}"}}
    policy = invoke(bundle, env, "authorizer", [event]).value()
    return dict(policy["context"])


def test_the_template_runs_exactly_the_route_table_functions_from_one_asset_and_layer(bundle: Bundle) -> None:
    handlers = sorted(p["Handler"] for p in bundle.functions.values())
    expected = sorted(f"functions.{n}.handler.handler" for n in [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS])
    assert handlers == expected
    assert (bundle.functions_asset / "functions" / "routes.py").is_file()
    assert not (bundle.functions_asset / "infra").exists()
    assert not (bundle.layer_asset / "python" / "infra").exists()


def test_the_local_layer_has_the_same_distributions_as_the_deployed_one(bundle: Bundle) -> None:
    def dists(root: Path) -> set[str]:
        return {p.name for p in (root / "python").glob("*.dist-info")}

    assert dists(bundle.local_layer) == dists(bundle.layer_asset)
    assert not any(name.startswith("aws_xray_sdk") for name in dists(bundle.layer_asset))


def test_the_static_embedder_data_ships_in_the_layer(bundle: Bundle) -> None:
    env = bundle.functions[_logical_id(bundle, "api_query")]["Environment"]["Variables"]
    assert (env["MEMOS_EMBEDDER"], env["MEMOS_EMBED_DIM"]) == ("static", "256")
    assert (bundle.layer_asset / "python" / "memos" / "data" / "static_minilm.npz").is_file()


def test_the_authorizer_allows_a_valid_key_and_rejects_an_unknown_one(
    bundle: Bundle, env: dict[str, Any], namespace: str, identity: dict[str, str]
) -> None:
    assert identity["namespaces"] == namespace and identity["key_id"]
    arn = "arn:aws:execute-api:us-east-1:000000000000:abc123/dev/GET/v1/keys"
    report = invoke(
        bundle,
        env,
        "authorizer",
        [{"type": "REQUEST", "methodArn": arn, "headers": {"x-api-key": "mk_nope"}}],
    )
    assert report.results[0] == {
        "ok": False,
        "error": "Exception: Unauthorized",
        "trace": report.results[0]["trace"],
    }


def test_api_public_answers_health_and_the_openapi_document(
    bundle: Bundle, env: dict[str, Any], identity: dict[str, str]
) -> None:
    report = invoke(
        bundle,
        env,
        "api_public",
        [api_event("GET", "/v1/health"), api_event("GET", "/v1/openapi.json", authorizer=identity)],
    )
    health, openapi = report.value(0), report.value(1)
    assert health["statusCode"] == 200, health["body"]
    assert _json(health)["status"] == "ok"
    assert openapi["statusCode"] == 200
    assert {"/v1/ingest", "/v1/query", "/v1/keys", "/v1/ops/stats"} <= set(_json(openapi)["paths"])


def test_api_memory_ingests_and_api_query_finds_it(
    bundle: Bundle, env: dict[str, Any], namespace: str, identity: dict[str, str]
) -> None:
    text = "The blue heron nests by the old mill pond every spring"
    body = {"namespace": namespace, "session_id": "s1", "role": "user", "text": text}
    ingest = invoke(
        bundle, env, "api_memory", [api_event("POST", "/v1/ingest", body=body, authorizer=identity)]
    )
    created = ingest.value()
    assert created["statusCode"] == 200, created["body"]
    assert _json(created)["memories"][0]["status"] == "created"
    assert created["headers"]["x-request-id"]

    query = {"namespace": namespace, "query": "where does the heron nest?"}
    found = invoke(
        bundle, env, "api_query", [api_event("POST", "/v1/query", body=query, authorizer=identity)]
    ).value()
    assert found["statusCode"] == 200, found["body"]
    assert [r["text"] for r in _json(found)["results"]][:1] == [text]


def test_api_query_refuses_a_namespace_outside_the_key(
    bundle: Bundle, env: dict[str, Any], identity: dict[str, str]
) -> None:
    query = {"namespace": "someone-else", "query": "anything"}
    resp = invoke(
        bundle, env, "api_query", [api_event("POST", "/v1/query", body=query, authorizer=identity)]
    ).value()
    assert resp["statusCode"] == 403
    assert set(_json(resp)["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("name", "resource", "query"),
    [
        ("api_governance", "/v1/policy", True),
        ("api_ops", "/v1/ops/stats", True),
        ("api_admin", "/v1/keys", False),
    ],
)
def test_the_other_api_functions_answer_a_read(
    bundle: Bundle,
    env: dict[str, Any],
    namespace: str,
    identity: dict[str, str],
    name: str,
    resource: str,
    query: bool,
) -> None:
    event = api_event("GET", resource, query={"namespace": namespace} if query else None, authorizer=identity)
    resp = invoke(bundle, env, name, [event]).value()
    assert resp["statusCode"] == 200, resp["body"]
    assert isinstance(_json(resp), dict)


def _sqs_record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:memos-condense",
        "awsRegion": "us-east-1",
    }


def test_condense_summarizes_the_session_and_reports_only_the_bad_record(
    bundle: Bundle, env: dict[str, Any], namespace: str, db_conn: Any
) -> None:
    """Runs after the ingest test: session s1 of ``namespace`` has one turn to condense."""
    job = {"job_id": f"{namespace}/s1/1", "namespace": namespace, "session_id": "s1", "through_turn": 1}
    good, bad = _sqs_record(json.dumps(job)), _sqs_record("not json")
    result = invoke(bundle, env, "condense", [{"Records": [good, bad]}]).value()
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    row = db_conn.execute(
        "SELECT status, to_turn FROM condensations WHERE job_id = %s", (job["job_id"],)
    ).fetchone()
    assert row == {"status": "done", "to_turn": 1}


def test_decay_runs_on_a_scheduled_event(bundle: Bundle, env: dict[str, Any]) -> None:
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-12-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/memos-decay"],
        "detail": {},
    }
    report = invoke(bundle, env, "decay", [event]).value()
    assert {"run_id", "expired", "decayed"} <= set(report)


def test_migrate_answers_create_and_delete_custom_resource_events(
    bundle: Bundle, env: dict[str, Any]
) -> None:
    base = {
        "ServiceToken": "arn:aws:lambda:us-east-1:000000000000:function:provider",
        "ResponseURL": "https://example.invalid/response",
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/MemOS-dev/x",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Schema",
        "ResourceType": "Custom::MemosMigrations",
        "ResourceProperties": {},
    }
    report = invoke(
        bundle,
        env,
        "migrate",
        [
            {**base, "RequestType": "Create"},
            {**base, "RequestType": "Delete", "PhysicalResourceId": "memos-schema"},
        ],
    )
    created, deleted = report.value(0), report.value(1)
    assert created["PhysicalResourceId"] == "memos-schema"
    assert created["Data"]["Applied"] == "none"  # the test run already migrated this database
    assert deleted == {"PhysicalResourceId": "memos-schema"}


def test_a_module_missing_from_the_layer_fails_the_first_request_and_the_snapshot(
    bundle: Bundle, env: dict[str, Any], tmp_path: Path
) -> None:
    """The handler module imports nothing of the layer (cold start), so a broken layer shows on the
    first request, and with SnapStart earlier: the before-snapshot hook loads the code, so the
    version's snapshot fails before any request reaches it."""
    broken = tmp_path / "python"
    shutil.copytree(bundle.local_layer / "python" / "memos", broken / "memos")
    (broken / "memos" / "ops" / "health.py").unlink()
    lid = _logical_id(bundle, "api_public")
    path = [
        bundle.functions_asset,
        broken,
        bundle.local_layer / "python",
    ]  # the broken memos shadows the good one
    args = (path, bundle.functions[lid]["Handler"], [api_event("GET", "/v1/health")])
    report = run_in_bundle(*args, _environment(bundle, lid, env))
    assert report.results[0]["ok"] is False
    assert report.results[0]["error"] == "ModuleNotFoundError: No module named 'memos.ops.health'"
    with pytest.raises(AssertionError, match=r"No module named 'memos\.ops\.health'"):
        run_in_bundle(*args, _environment(bundle, lid, env), snapshot=True)
