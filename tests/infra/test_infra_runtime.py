"""What runs in AWS matches what is measured and enforced locally: the embedder, SnapStart on the
request path, per-key limits and the gateway's own 429."""

from __future__ import annotations

import json

from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS, ROUTES
from infra.constructs.compute import LIVE_ALIAS

from .conftest import Synth
from .test_infra_stack import api_methods, function_ids_by_name, integrated_target

REQUEST_PATH = {*API_FUNCTIONS, "authorizer"}


def _env(synth: Synth, name: str) -> dict[str, str]:
    return synth.resources[function_ids_by_name(synth)[name]]["Properties"]["Environment"]["Variables"]


def test_every_function_embeds_with_the_measured_static_embedder(synth: Synth) -> None:
    for name in {**API_FUNCTIONS, **BACKGROUND_FUNCTIONS}:
        env = _env(synth, name)
        assert (env["MEMOS_EMBEDDER"], env["MEMOS_EMBED_DIM"]) == ("static", "256"), name


def test_request_path_functions_use_snapstart_and_background_ones_do_not(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    for name, logical_id in ids.items():
        snap = synth.resources[logical_id]["Properties"].get("SnapStart")
        if name in REQUEST_PATH:
            assert snap == {"ApplyOn": "PublishedVersions"}, name
        else:
            assert snap is None, name


def test_each_snapstart_function_has_a_published_version_behind_a_live_alias(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    versions = synth.of_type("AWS::Lambda::Version")
    aliases = synth.of_type("AWS::Lambda::Alias")
    for name in REQUEST_PATH:
        (alias,) = [a for a in aliases.values() if a["Properties"]["FunctionName"] == {"Ref": ids[name]}]
        assert alias["Properties"]["Name"] == LIVE_ALIAS
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": ids[name]}
    assert len(aliases) == len(REQUEST_PATH)


def test_api_gateway_invokes_the_live_alias_never_latest(synth: Synth) -> None:
    aliases = synth.of_type("AWS::Lambda::Alias")
    for route in ROUTES:
        method = api_methods(synth)[(route.method, route.path)]
        assert integrated_target(method) in aliases, route
    # Invoke permissions are granted on the alias too (else the gateway gets 403 from Lambda).
    permissions = synth.of_type("AWS::Lambda::Permission")
    gateway = [p for p in permissions.values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert gateway and all(p["Properties"]["FunctionName"]["Ref"] in aliases for p in gateway)


def test_every_api_function_enforces_the_per_key_limit_of_its_environment(synth: Synth) -> None:
    for name in API_FUNCTIONS:
        env = _env(synth, name)
        assert float(env["MEMOS_RATE_LIMIT_RPS"]) == synth.config.key_rate_limit_rps > 0, name
        assert int(env["MEMOS_RATE_LIMIT_BURST"]) == synth.config.key_rate_limit_burst, name
        assert env["MEMOS_REDIS_URL"], name  # the bucket lives in Redis, shared by every instance
    # The sum of all keys stays under the stage throttle.
    assert synth.config.key_rate_limit_rps <= synth.config.api_throttle_rate


def test_the_gateway_throttle_answers_429_in_the_error_shape_with_retry_after(synth: Synth) -> None:
    responses = synth.of_type("AWS::ApiGateway::GatewayResponse")
    (throttled,) = [
        r["Properties"] for r in responses.values() if r["Properties"]["ResponseType"] == "THROTTLED"
    ]
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    body = throttled["ResponseTemplates"]["application/json"]
    sample = json.loads(
        body.replace("$context.error.messageString", '"Too Many Requests"').replace(
            "$context.requestId", "r1"
        )
    )
    assert sample["error"] == {"code": "rate_limited", "message": "Too Many Requests", "details": []}
    others = [r["Properties"] for r in responses.values() if r["Properties"]["ResponseType"] != "THROTTLED"]
    assert all("gatewayresponse.header.Retry-After" not in r.get("ResponseParameters", {}) for r in others)


def test_the_reranker_is_off_by_default(synth: Synth) -> None:
    for name in {**API_FUNCTIONS, **BACKGROUND_FUNCTIONS}:
        assert _env(synth, name)["MEMOS_RERANKER"] == "none", name
    statements = [
        s
        for policy in synth.of_type("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert not any("bedrock:Rerank" in json.dumps(s["Action"]) for s in statements)


def test_a_bedrock_reranker_gets_its_setting_and_the_rerank_permissions(tmp_path) -> None:
    import dataclasses

    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.config import get_config
    from infra.constructs.stack import MemosStack

    from .conftest import cdk_json_context

    config = dataclasses.replace(get_config("dev"), reranker="bedrock")
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    template = Template.from_stack(MemosStack(app, config.stack_name, config=config)).to_json()
    function = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Environment", {}).get("Variables", {}).get("MEMOS_RERANKER") == "bedrock"
    )
    assert (
        function["Properties"]["Environment"]["Variables"]["MEMOS_BEDROCK_RERANK_MODEL"]
        == "amazon.rerank-v1:0"
    )
    actions = json.dumps(
        [
            s["Action"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy"
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        ]
    )
    assert "bedrock:Rerank" in actions and "bedrock:InvokeModel" in actions
