"""Migrations: a custom resource that applies the SQL migrations during each deploy that
changes the domain package (the migrations ship inside it)."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, CustomResource, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.acks import acknowledge, managed_policy
from infra.constructs.compute import Compute
from infra.constructs.data import Data


class Migrations(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, compute: Compute, data: Data
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler: lambda_.Function = compute.function("migrate")
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler,
            log_group=logs.LogGroup(
                self,
                "ProviderLogs",
                retention=config.log_retention,
                removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
            ),
        )
        self.resource = CustomResource(
            self,
            "Apply",
            service_token=self.provider.service_token,
            resource_type="Custom::MemosMigrations",
            # A new layer hash (code, SQL files or dependencies changed) re-runs the migrations;
            # the handler is idempotent, so re-running is safe.
            properties={"LayerHash": compute.layer_hash, "Environment": config.name},
        )
        # Migrations connect through the proxy, which needs the writer and its target group.
        self.resource.node.add_dependency(data.cluster)
        self.resource.node.add_dependency(data.proxy)
        handler_id = Stack.of(self).get_logical_id(cast(CfnElement, self.handler.node.default_child))
        acknowledge(
            self.provider,
            {
                managed_policy("AWSLambdaBasicExecutionRole"): (
                    "The CDK provider framework function only writes its own logs with this policy."
                ),
                f"IAM5[Resource::<{handler_id}.Arn>:*]": "The provider framework may invoke the migrate "
                "function's versions and aliases (migrate:*); nothing else.",
            },
        )
