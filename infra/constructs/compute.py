"""Lambda building blocks shared by every function: the domain layer, the one code asset,
the environment (``MEMOS_*`` settings), and a least-privilege role per function."""

from __future__ import annotations

from aws_cdk import Annotations, AssetHashType, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS, FunctionSpec
from infra.bundling import (
    FUNCTIONS_SOURCE,
    LAYER_SOURCE,
    FunctionsBundling,
    LayerBundling,
    layer_asset_hash,
    local_bundling_options,
)
from infra.config import EnvConfig
from infra.constructs.acks import acknowledge
from infra.constructs.data import DATABASE_NAME, Data
from infra.constructs.network import Network

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64  # why not arm64 (yet): docs/DEPLOY.md
ALL_FUNCTIONS: dict[str, FunctionSpec] = {**API_FUNCTIONS, **BACKGROUND_FUNCTIONS}
# Functions on the request path start from a snapshot (SnapStart) and are called through an
# alias of their latest published version; the background functions are not latency bound.
SNAPSTART_FUNCTIONS = frozenset([*API_FUNCTIONS, "authorizer"])
LIVE_ALIAS = "live"


def handler_for(name: str) -> str:
    return f"functions.{name}.handler.handler"


class Compute(Construct):
    """Creates functions on request (``function(name)``) with the shared layer, code and settings."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, network: Network, data: Data
    ) -> None:
        super().__init__(scope, construct_id)
        self._config, self._network, self._data = config, network, data
        self.layer_hash = layer_asset_hash()
        self.layer = lambda_.LayerVersion(
            self,
            "MemosLayer",
            code=lambda_.Code.from_asset(
                str(LAYER_SOURCE),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=self.layer_hash,
                bundling=local_bundling_options(LayerBundling()),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="memos domain package and its runtime dependencies (pyproject.toml)",
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.code = lambda_.Code.from_asset(
            str(FUNCTIONS_SOURCE),
            asset_hash_type=AssetHashType.SOURCE,
            exclude=["**/__pycache__", "**/*.pyc"],
            bundling=local_bundling_options(FunctionsBundling()),
        )
        self.environment: dict[str, str] = {
            "MEMOS_ENV": config.name,
            "MEMOS_DATABASE_SECRET_ARN": data.secret.secret_arn,
            "MEMOS_DATABASE_HOST": data.proxy.endpoint,
            "MEMOS_DATABASE_NAME": DATABASE_NAME,
            "MEMOS_REDIS_URL": data.redis_url,
            "MEMOS_REDIS_CLUSTER": "true",
            "MEMOS_AWS_REGION": Aws.REGION,
            "MEMOS_EMBEDDER": config.embedder,
            "MEMOS_EMBED_DIM": str(config.embed_dim),
            "MEMOS_RERANKER": config.reranker,
            "MEMOS_BEDROCK_RERANK_MODEL": config.bedrock_rerank_model,
            "MEMOS_RATE_LIMIT_RPS": f"{config.key_rate_limit_rps:g}",
            "MEMOS_RATE_LIMIT_BURST": str(config.key_rate_limit_burst),
            "POWERTOOLS_SERVICE_NAME": "memos",
            "POWERTOOLS_METRICS_NAMESPACE": "MemOS",
            "POWERTOOLS_LOG_LEVEL": config.log_level,
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.aliases: dict[str, lambda_.Alias] = {}

    def invocable(self, name: str) -> lambda_.IFunction:
        """What callers invoke: the live alias for SnapStart functions, else the function."""
        return self.aliases.get(name) or self.functions[name]

    def set_environment(self, name: str, value: str) -> None:
        """Add a setting to every function (created before or after this call)."""
        self.environment[name] = value
        for fn in self.functions.values():
            fn.add_environment(name, value)

    def function(self, name: str, *, database: bool = True) -> lambda_.Function:
        spec = ALL_FUNCTIONS[name]
        log_group = logs.LogGroup(
            self,
            f"{name}-logs",
            retention=self._config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if self._config.is_prod else RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"MemOS {name}: least privilege",
            inline_policies={"runtime": self._runtime_policy(log_group)},
        )
        fn = lambda_.Function(
            self,
            name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_for(name),
            code=self.code,
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=self._network.vpc,
            vpc_subnets=self._network.subnets,
            security_groups=[self._network.lambda_sg],
            environment=dict(self.environment),
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if name in SNAPSTART_FUNCTIONS else None,
        )
        if name in SNAPSTART_FUNCTIONS:
            # A new version is published whenever the code or configuration changes; the alias
            # follows it, and API Gateway invokes the alias (never $LATEST, which has no snapshot).
            self.aliases[name] = lambda_.Alias(
                self, f"{name}-live", alias_name=LIVE_ALIAS, version=fn.current_version
            )
            Annotations.of(fn).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "published by current_version, behind the alias",
            )
        if database:
            self._data.secret.grant_read(fn)
        if self._config.embedder == "bedrock":
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["bedrock:InvokeModel"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="bedrock",
                            account="",
                            resource="foundation-model",
                            resource_name="amazon.titan-embed-text-v2:0",
                        )
                    ],
                )
            )
        if self._config.reranker == "bedrock":
            model_arn = Stack.of(self).format_arn(
                service="bedrock",
                account="",
                resource="foundation-model",
                resource_name=self._config.bedrock_rerank_model,
            )
            # Rerank is authorised on no resource type (the model is checked through InvokeModel).
            fn.add_to_role_policy(iam.PolicyStatement(actions=["bedrock:Rerank"], resources=["*"]))
            fn.add_to_role_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[model_arn]))
            acknowledge(
                fn,
                {
                    "IAM5[Resource::*]": "bedrock:Rerank accepts no resource type; the model is limited by InvokeModel."
                },
            )
        acknowledge(
            fn,
            {
                "L1": "Python 3.12 is the project's runtime contract: the layer's wheels are built for "
                "CPython 3.12 (pip --python-version 3.12).",
            },
        )
        acknowledge(
            role,
            {
                "IAM5[Resource::*]": "Only actions that accept no resource ARN use '*': the ENI actions "
                "Lambda needs for VPC placement and X-Ray's PutTraceSegments/PutTelemetryRecords.",
            },
        )
        self.functions[name] = fn
        return fn

    def _runtime_policy(self, log_group: logs.LogGroup) -> iam.PolicyDocument:
        """What AWSLambdaBasicExecutionRole + AWSLambdaVPCAccessExecutionRole give, scoped down."""
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    # EC2 evaluates these for the function's ENIs; they accept no resource ARN.
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                ),
            ]
        )
