"""The synthesized stack, per environment: resources, routes, wiring, security and cdk-nag."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Match

from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS, ROUTES
from infra.constructs.compute import handler_for

from .checks import open_ingress, policy_statements, wildcard_actions
from .conftest import Synth

REQUIRED_ENV = {
    "MEMOS_ENV",
    "MEMOS_DATABASE_SECRET_ARN",
    "MEMOS_DATABASE_HOST",
    "MEMOS_DATABASE_NAME",
    "MEMOS_REDIS_URL",
    "MEMOS_REDIS_CLUSTER",
    "MEMOS_CONDENSE_QUEUE_URL",
    "MEMOS_CONDENSE_DLQ_URL",
    "MEMOS_EMBEDDER",
    "MEMOS_EMBED_DIM",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}


RETENTION_DAYS = {"ONE_WEEK": 7, "ONE_MONTH": 30, "THREE_MONTHS": 90}


def function_ids_by_name(synth: Synth) -> dict[str, str]:
    """Lambda logical id for each MemOS function name (from its handler string)."""
    names = {handler_for(n): n for n in {**API_FUNCTIONS, **BACKGROUND_FUNCTIONS}}
    return {
        names[r["Properties"]["Handler"]]: logical_id
        for logical_id, r in synth.of_type("AWS::Lambda::Function").items()
        if r["Properties"].get("Handler") in names
    }


def resource_paths(synth: Synth) -> dict[str, str]:
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path(logical_id) for logical_id in resources}


def integrated_target(method: dict[str, Any]) -> str:
    """Logical id of what the integration invokes (a function, or an alias of one)."""
    parts = method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    for part in parts:
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return str(part["Fn::GetAtt"][0])
        if isinstance(part, dict) and "Ref" in part and not str(part["Ref"]).startswith("AWS::"):
            return str(part["Ref"])
    raise AssertionError(f"no function in {parts}")


def integrated_function(synth: Synth, method: dict[str, Any]) -> str:
    """Logical id of the function behind the integration (through its alias, if any)."""
    target = integrated_target(method)
    resource = synth.resources[target]
    if resource["Type"] == "AWS::Lambda::Alias":
        return str(resource["Properties"]["FunctionName"]["Ref"])
    return target


def api_methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """Route methods by (method, path); CORS preflights (OPTIONS) are checked on their own."""
    paths = resource_paths(synth)
    return {
        (m["Properties"]["HttpMethod"], paths[m["Properties"]["ResourceId"]["Ref"]]): m
        for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def test_cors_preflights_are_gateway_mocks_for_the_console_origin_only(synth: Synth) -> None:
    preflights = [
        m
        for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    paths = resource_paths(synth)
    [cdn] = synth.of_type("AWS::CloudFront::Distribution")  # the console's distribution
    routed = {
        paths[m["Properties"]["ResourceId"]["Ref"]]
        for m in preflights
        if "Ref" in m["Properties"]["ResourceId"]
    }
    assert {r.path for r in ROUTES} <= routed
    for m in preflights:
        props = m["Properties"]
        assert props["AuthorizationType"] == "NONE" and props["Integration"]["Type"] == "MOCK"
        origin = props["Integration"]["IntegrationResponses"][0]["ResponseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        assert "*" not in str(origin) and cdn in str(origin)  # the console's CloudFront origin only
    for fn_id in function_ids_by_name(synth).values():
        env = synth.resources[fn_id]["Properties"]["Environment"]["Variables"]
        if "MEMOS_CORS_ALLOW_ORIGIN" in env:
            assert cdn in str(env["MEMOS_CORS_ALLOW_ORIGIN"])


# --- resources -------------------------------------------------------------------------------


def test_core_resources_exist(synth: Synth) -> None:
    t, config = synth.template, synth.config
    t.resource_count_is("AWS::EC2::VPC", 1)
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::InternetGateway", 0)
    t.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "EngineVersion": Match.string_like_regexp(r"^16\."),
            "StorageEncrypted": True,
            "ServerlessV2ScalingConfiguration": {
                "MinCapacity": config.aurora_min_acu,
                "MaxCapacity": config.aurora_max_acu,
            },
        },
    )
    t.resource_count_is("AWS::RDS::DBInstance", 1 + config.aurora_readers)
    t.has_resource_properties("AWS::RDS::DBProxy", {"EngineFamily": "POSTGRESQL", "RequireTLS": True})
    t.resource_count_is("AWS::SecretsManager::RotationSchedule", 1)
    t.has_resource_properties("AWS::ElastiCache::ServerlessCache", {"Engine": "valkey"})
    t.resource_count_is("AWS::SQS::Queue", 2)
    t.resource_count_is("AWS::ApiGateway::RestApi", 1)
    t.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    t.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {"DistributionConfig": Match.object_like({"DefaultRootObject": "index.html"})},
    )
    t.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    t.has_resource_properties("AWS::WAFv2::WebACL", {"Scope": "REGIONAL"}) if config.waf_enabled else None


def test_vpc_endpoints_cover_the_aws_apis_the_functions_call(synth: Synth) -> None:
    services: set[str] = set()
    for r in synth.of_type("AWS::EC2::VPCEndpoint").values():
        name = r["Properties"]["ServiceName"]
        text = name if isinstance(name, str) else str(name)
        services.update(
            s for s in ("sqs", "secretsmanager", "logs", "xray", "bedrock-runtime", "s3") if f".{s}" in text
        )
    assert services == {"sqs", "secretsmanager", "logs", "xray", "bedrock-runtime", "s3"}


def test_console_bucket_is_private_and_encrypted(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.any_value(),
            "LoggingConfiguration": Match.any_value(),
        },
    )


# --- functions ------------------------------------------------------------------------------


def test_one_lambda_per_function_with_shared_layer_and_settings(synth: Synth) -> None:
    lambdas = synth.of_type("AWS::Lambda::Function")
    for name in {**API_FUNCTIONS, **BACKGROUND_FUNCTIONS}:
        matching = [r for r in lambdas.values() if r["Properties"].get("Handler") == handler_for(name)]
        assert len(matching) == 1, name
        props = matching[0]["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["VpcConfig"]["SubnetIds"]
        assert len(props["Layers"]) == 1
        assert set(props["Environment"]["Variables"]) >= REQUIRED_ENV, name
        assert props["Environment"]["Variables"]["MEMOS_ENV"] == synth.config.name
    # One MemOS layer; BucketDeployment brings CDK's own AWS CLI layer when console/ has files.
    layers = synth.of_type("AWS::Lambda::LayerVersion")
    ours = [
        r
        for r in layers.values()
        if "AwsCliLayer" not in str(r.get("Metadata", ""))
        and "awscli" not in str(r["Properties"].get("Description", "")).lower()
    ]
    assert len(ours) == 1, layers


def test_every_function_logs_to_its_own_group_with_retention(synth: Synth) -> None:
    groups = synth.of_type("AWS::Logs::LogGroup")
    for logical_id in function_ids_by_name(synth).values():
        props = synth.resources[logical_id]["Properties"]
        group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert (
            groups[group_id]["Properties"]["RetentionInDays"]
            == RETENTION_DAYS[synth.config.log_retention.value]
        )


# --- API ------------------------------------------------------------------------------------


def test_every_route_is_a_method_integrated_with_its_function(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    methods = api_methods(synth)
    assert set(methods) == {(r.method, r.path) for r in ROUTES}
    for route in ROUTES:
        method = methods[(route.method, route.path)]
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"
        assert integrated_function(synth, method) == ids[route.function], route


def test_public_routes_have_no_authorizer_and_the_others_do(synth: Synth) -> None:
    methods = api_methods(synth)
    authorizer_ids = set(synth.of_type("AWS::ApiGateway::Authorizer"))
    for route in ROUTES:
        props = methods[(route.method, route.path)]["Properties"]
        if route.scope is None:
            assert props["AuthorizationType"] == "NONE", route
            assert "AuthorizerId" not in props, route
        else:
            assert props["AuthorizationType"] == "CUSTOM", route
            assert props["AuthorizerId"]["Ref"] in authorizer_ids, route


def test_authorizer_is_request_type_uncached_and_header_agnostic(synth: Synth) -> None:
    (authorizer,) = synth.of_type("AWS::ApiGateway::Authorizer").values()
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    # Either header may carry the key, so no identity source may be required, and no caching.
    assert props["AuthorizerResultTtlInSeconds"] == 0
    assert not props.get("IdentitySource")
    (alias_id,) = [
        p["Ref"] for p in props["AuthorizerUri"]["Fn::Join"][1] if isinstance(p, dict) and "Ref" in p
    ]
    alias = synth.resources[alias_id]
    assert alias["Type"] == "AWS::Lambda::Alias"
    assert alias["Properties"]["FunctionName"] == {"Ref": function_ids_by_name(synth)["authorizer"]}


def test_stage_is_throttled_traced_and_access_logged(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": synth.config.api_throttle_rate,
                            "ThrottlingBurstLimit": synth.config.api_throttle_burst,
                            "DataTraceEnabled": False,
                        }
                    )
                ]
            ),
        },
    )


def test_body_routes_are_validated(synth: Synth) -> None:
    for (verb, _path), method in api_methods(synth).items():
        assert "RequestValidatorId" in method["Properties"]
        if verb in {"POST", "PUT", "PATCH"}:
            assert "application/json" in method["Properties"]["RequestModels"]


# --- pipeline and schedule -------------------------------------------------------------------


def test_condense_consumes_the_queue_with_partial_batch_responses(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    (mapping,) = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": ids["condense"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
    redrive = synth.resources[queue_id]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == synth.config.condense_max_receive_count
    dlq_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert synth.resources[dlq_id]["Type"] == "AWS::SQS::Queue"
    assert "RedrivePolicy" not in synth.resources[dlq_id]["Properties"]


def test_queues_are_encrypted_and_tls_only(synth: Synth) -> None:
    for queue in synth.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    synth.template.resource_count_is("AWS::SQS::QueuePolicy", 2)


def test_schedule_rule_targets_decay(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    (rule,) = synth.of_type("AWS::Events::Rule").values()
    props = rule["Properties"]
    expected = events.Schedule.rate(Duration.minutes(synth.config.decay_rate_minutes)).expression_string
    assert props["ScheduleExpression"] == expected
    assert [t["Arn"] for t in props["Targets"]] == [{"Fn::GetAtt": [ids["decay"], "Arn"]}]


def test_migrations_run_as_custom_resource_backed_by_migrate(synth: Synth) -> None:
    ids = function_ids_by_name(synth)
    (custom,) = synth.of_type("Custom::MemosMigrations").values()
    assert custom["Properties"]["LayerHash"]
    assert "DependsOn" in custom
    framework = [
        r
        for r in synth.of_type("AWS::Lambda::Function").values()
        if r["Properties"].get("Environment", {}).get("Variables", {}).get("USER_ON_EVENT_FUNCTION_ARN")
        == {"Fn::GetAtt": [ids["migrate"], "Arn"]}
    ]
    assert len(framework) == 1
    assert "VpcConfig" in synth.resources[ids["migrate"]]["Properties"]


# --- removal policies -------------------------------------------------------------------------


STATEFUL = ("AWS::RDS::DBCluster", "AWS::ElastiCache::ServerlessCache", "AWS::S3::Bucket")


def test_removal_policies_follow_the_environment(synth: Synth) -> None:
    (cluster,) = synth.of_type("AWS::RDS::DBCluster").values()
    if synth.config.name == "prod":
        assert cluster["DeletionPolicy"] == "Snapshot"
        assert cluster["Properties"]["DeletionProtection"] is True
        for resource_type in (*STATEFUL[1:], "AWS::Logs::LogGroup"):
            for logical_id, r in synth.of_type(resource_type).items():
                if logical_id.startswith("NetworkFlowLogs"):
                    continue  # flow logs are diagnostics, not data
                assert r["DeletionPolicy"] == "Retain", logical_id
    elif synth.config.name == "staging":
        assert cluster["DeletionPolicy"] == "Snapshot"
    else:
        assert cluster["DeletionPolicy"] == "Delete"
        assert cluster["Properties"]["DeletionProtection"] is False
        for resource_type in STATEFUL:
            assert all(r["DeletionPolicy"] == "Delete" for r in synth.of_type(resource_type).values())


# --- observability ----------------------------------------------------------------------------


def alarms(synth: Synth) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.of_type("AWS::CloudWatch::Alarm").values()]


def test_alarms_cover_api_dlq_database_and_cache(synth: Synth) -> None:
    found = {(a.get("Namespace"), a.get("MetricName"), a.get("ExtendedStatistic")) for a in alarms(synth)}
    assert ("AWS/ApiGateway", "5XXError", None) in found
    assert ("AWS/ApiGateway", "Latency", "p95") in found
    assert ("AWS/RDS", "ACUUtilization", None) in found
    assert ("AWS/ElastiCache", "ThrottledCmds", None) in found
    (dlq_alarm,) = [a for a in alarms(synth) if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    assert dlq_alarm["Threshold"] == 0
    assert dlq_alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert all(a["AlarmActions"] for a in alarms(synth))


# --- security ---------------------------------------------------------------------------------


def test_no_iam_statement_grants_a_wildcard_action(synth: Synth) -> None:
    offenders = [
        (logical_id, wildcard_actions(statement))
        for logical_id, statement in policy_statements(synth.resources)
        if wildcard_actions(statement)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("statement", "flagged"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, ["*"]),
        ({"Effect": "Allow", "Action": ["sqs:SendMessage", "s3:*"], "Resource": "*"}, ["s3:*"]),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, ["NotAction:iam:*"]),
        ({"Effect": "Allow", "Action": ["sqs:SendMessage", "s3:GetObject*"], "Resource": "*"}, []),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, []),
    ],
)
def test_wildcard_checker_flags_bad_statements(statement: dict[str, Any], flagged: list[str]) -> None:
    assert wildcard_actions(statement) == flagged


def test_wildcard_checker_finds_statements_in_every_policy_kind() -> None:
    bad = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    resources = {
        "P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [bad]}}},
        "R": {
            "Type": "AWS::IAM::Role",
            "Properties": {"Policies": [{"PolicyDocument": {"Statement": [bad]}}]},
        },
        "M": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [bad]}}},
    }
    assert [lid for lid, s in policy_statements(resources) if wildcard_actions(s)] == ["P", "R", "M"]


def data_security_groups(synth: Synth) -> set[str]:
    """The groups of the database, the proxy and the cache, read from those resources."""
    (cluster,) = synth.of_type("AWS::RDS::DBCluster").values()
    (proxy,) = synth.of_type("AWS::RDS::DBProxy").values()
    (cache,) = synth.of_type("AWS::ElastiCache::ServerlessCache").values()
    refs = [
        *cluster["Properties"]["VpcSecurityGroupIds"],
        *proxy["Properties"]["VpcSecurityGroupIds"],
        *cache["Properties"]["SecurityGroupIds"],
    ]
    return {ref["Fn::GetAtt"][0] for ref in refs}


def test_database_and_cache_accept_no_traffic_from_anywhere(synth: Synth) -> None:
    groups = data_security_groups(synth)
    assert len(groups) == 3
    assert open_ingress(synth.resources, groups) == []
    assert open_ingress(synth.resources) == []  # and no group in the stack is open either
    # Every ingress into those groups names a source security group.
    for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values():
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0] in groups:
            assert "SourceSecurityGroupId" in r["Properties"]


def test_database_is_not_publicly_accessible(synth: Synth) -> None:
    for instance in synth.of_type("AWS::RDS::DBInstance").values():
        assert instance["Properties"].get("PubliclyAccessible") is False
    (subnet_group,) = synth.of_type("AWS::RDS::DBSubnetGroup").values()
    subnets = {s["Ref"] for s in subnet_group["Properties"]["SubnetIds"]}
    for subnet_id in subnets:
        assert synth.resources[subnet_id]["Properties"]["MapPublicIpOnLaunch"] is False


def test_ingress_checker_flags_open_rules() -> None:
    resources = {
        "Db": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0", "FromPort": 5432}]},
        },
        "Rule": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {"GroupId": {"Fn::GetAtt": ["Cache", "GroupId"]}, "CidrIpv6": "::/0"},
        },
        "Ok": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {"GroupId": {"Fn::GetAtt": ["Cache", "GroupId"]}, "CidrIp": "10.0.0.0/16"},
        },
    }
    assert open_ingress(resources, {"Db", "Cache"}) == ["Db", "Rule"]
    assert open_ingress(resources, {"Other"}) == []


# --- cdk-nag ----------------------------------------------------------------------------------


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synth) -> None:
    assert synth.report is not None, "the validation report was not written"
    failures = [
        f"{v['ruleName']}: {[c['constructPath'] for c in v['violatingConstructs']]}"
        for plugin in synth.report["pluginReports"]
        if plugin.get("conclusion") != "success"
        for v in plugin["violations"]
    ]
    assert failures == []
    assert synth.error is None
