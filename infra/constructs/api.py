"""API: a REST API generated from ``functions/routes.py`` (the only route list), one Lambda per
route group, a REQUEST authorizer on every route that needs a scope, throttling and access logs."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from functions.routes import API_FUNCTIONS, ROUTES, Route
from infra.config import EnvConfig
from infra.constructs.acks import acknowledge, managed_policy
from infra.constructs.compute import Compute

BODY_METHODS = {"POST", "PUT", "PATCH"}
_PATH_PARAM = re.compile(r"{([^}]+)}")
_ERROR_TEMPLATE = (
    '{"error": {"code": "%s", "message": $context.error.messageString, "details": []},'
    ' "request_id": "$context.requestId"}'
)


CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "x-api-key", "Idempotency-Key")


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, compute: Compute, cors_origin: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.cors_origin = cors_origin
        self.functions: dict[str, lambda_.Function] = {name: compute.function(name) for name in API_FUNCTIONS}
        for fn in self.functions.values():  # handlers add the CORS headers to their own responses
            fn.add_environment("MEMOS_CORS_ALLOW_ORIGIN", cors_origin)
        self.authorizer_function = compute.function("authorizer")
        # Keys arrive in either of two headers, and API Gateway rejects a request that lacks any
        # configured identity source before calling the authorizer. So: no identity sources and no
        # result cache; the authorizer runs per request and caches key lookups in memory.
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "KeyAuthorizer",
            handler=compute.invocable("authorizer"),
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"memos-{config.name}",
            description="MemOS API v1",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The console (CloudFront) calls the API from its own origin: preflights are answered
            # by API Gateway itself (mock integration, no authorizer), for that origin only.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=[cors_origin],
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=list(CORS_ALLOW_HEADERS),
                expose_headers=["x-request-id"],
                max_age=Duration.minutes(10),
            ),
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies are user memories: never log them
                metrics_enabled=True,
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        self._add_error_responses()
        self.body_validator = self.rest_api.add_request_validator(
            "BodyAndParams", validate_request_body=True, validate_request_parameters=True
        )
        self.params_validator = self.rest_api.add_request_validator(
            "ParamsOnly", validate_request_body=False, validate_request_parameters=True
        )
        self.json_object_model = self.rest_api.add_model(
            "JsonObject",
            content_type="application/json",
            schema=apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT),
            description="Any JSON object; the handler validates the fields (Pydantic).",
        )
        # Integrations target each function's live alias: the SnapStart version (compute.py).
        self.integrations = {
            name: apigw.LambdaIntegration(compute.invocable(name), allow_test_invoke=False)
            for name in self.functions
        }
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in ROUTES:
            self.methods[(route.method, route.path)] = self._add_route(route)

        for node in self.rest_api.root.node.find_all():
            if isinstance(node, apigw.Method) and node.http_method == "OPTIONS":
                acknowledge(
                    node,
                    {
                        "APIG4": "CORS preflight: a mock integration that only returns the allowed origin, "
                        "methods and headers; browsers send preflights without credentials.",
                        "COG4": "CORS preflight (see APIG4): no data, no Lambda, nothing to authorize.",
                    },
                )

        if config.waf_enabled:
            self._add_waf(config)

        acknowledge(
            self.rest_api,
            {
                "COG4": "Callers authenticate with MemOS API keys (SPEC §2), checked by the REQUEST "
                "authorizer; there are no Cognito users.",
                managed_policy("AmazonAPIGatewayPushToCloudWatchLogs"): "The AWS-maintained policy for the "
                "account-level API Gateway logging role.",
                **(
                    {}
                    if config.waf_enabled
                    else {
                        "APIG3": f"No WAF in {config.name} (cost); every non-public route needs a key "
                        "and the stage is throttled. prod attaches a WAF web ACL."
                    }
                ),
            },
        )

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _add_route(self, route: Route) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        path_params = {f"method.request.path.{p}": True for p in _PATH_PARAM.findall(route.path)}
        has_body = route.method in BODY_METHODS
        method = resource.add_method(
            route.method,
            self.integrations[route.function],
            authorizer=self.authorizer if route.scope else None,
            authorization_type=apigw.AuthorizationType.CUSTOM
            if route.scope
            else apigw.AuthorizationType.NONE,
            request_parameters=path_params or None,
            request_models={"application/json": self.json_object_model} if has_body else None,
            request_validator=self.body_validator if has_body else self.params_validator,
        )
        if route.scope is None:
            acknowledge(
                method,
                {
                    "APIG4": f"{route.method} {route.path} is public by design (SPEC §2: health and the "
                    "OpenAPI document need no key).",
                },
            )
        return method

    def _add_error_responses(self) -> None:
        """Gateway-made errors (bad key, throttling, validation) keep the API's error shape.

        Per-key limits are the handlers' (429 + Retry-After, functions/shared/limits.py); the
        stage throttle's 429 says when to retry too: its token bucket refills within a second."""
        for response_type, code in (
            (apigw.ResponseType.UNAUTHORIZED, "unauthorized"),
            (apigw.ResponseType.ACCESS_DENIED, "forbidden"),
            (apigw.ResponseType.THROTTLED, "rate_limited"),
            (apigw.ResponseType.BAD_REQUEST_BODY, "invalid_request"),
            (apigw.ResponseType.DEFAULT_4_XX, "client_error"),
            (apigw.ResponseType.DEFAULT_5_XX, "unavailable"),
        ):
            self.rest_api.add_gateway_response(
                f"Gw{code}",
                type=response_type,
                templates={"application/json": _ERROR_TEMPLATE % code},
                # so the console can read a 401/403/429 made by the gateway, not only by handlers
                response_headers={
                    "Access-Control-Allow-Origin": f"'{self.cors_origin}'",
                    "Access-Control-Expose-Headers": "'x-request-id'",
                    **({"Retry-After": "'1'"} if code == "rate_limited" else {}),
                },
            )

    def _add_waf(self, config: EnvConfig) -> None:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"memos-{config.name}-api"),
            rules=[
                managed("AWSManagedRulesCommonRuleSet", 0),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=2,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=config.api_throttle_rate * 60
                        )
                    ),
                    visibility_config=_visibility("RatePerIp"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
