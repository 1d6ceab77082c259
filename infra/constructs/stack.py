"""One stack per environment (``MemOS-dev``, ``MemOS-staging``, ``MemOS-prod``) wiring the
constructs together, plus the grants that connect them."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.api import Api
from infra.constructs.compute import Compute
from infra.constructs.console import ConsoleHosting
from infra.constructs.data import Data
from infra.constructs.migrations import Migrations
from infra.constructs.network import Network
from infra.constructs.observability import Observability
from infra.constructs.pipeline import Pipeline
from infra.constructs.schedule import Schedule


class MemosStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"MemOS memory service ({config.name})", **kwargs)
        self.config = config
        self.network = Network(self, "Network", config=config)
        self.data = Data(self, "Data", config=config, network=self.network)
        self.compute = Compute(self, "Functions", config=config, network=self.network, data=self.data)
        # The queue comes first: every function gets its URL in the environment.
        self.pipeline = Pipeline(self, "Pipeline", config=config, compute=self.compute)
        self.console = ConsoleHosting(self, "Console", config=config)
        self.api = Api(self, "Api", config=config, compute=self.compute, cors_origin=self.console.url)
        self.schedule = Schedule(self, "Schedule", config=config, compute=self.compute)
        self.migrations = Migrations(self, "Migrations", config=config, compute=self.compute, data=self.data)
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            api=self.api,
            pipeline=self.pipeline,
            data=self.data,
            functions=self.compute.functions,
        )
        self._grant()

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "ConsoleUrl", value=self.console.url)
        cdk.CfnOutput(self, "ConsoleBucket", value=self.console.bucket.bucket_name)
        cdk.CfnOutput(self, "DatabaseSecretArn", value=self.data.secret.secret_arn)
        cdk.CfnOutput(self, "MigrateFunctionName", value=self.migrations.handler.function_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.observability.topic.topic_arn)
        # The CloudFormation schema gives proxy target groups no Tags, though the L1 accepts them.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        cdk.Tags.of(self).add("project", "memos", exclude_resource_types=untaggable)
        cdk.Tags.of(self).add("environment", config.name, exclude_resource_types=untaggable)

    def _grant(self) -> None:
        """Beyond the database secret every function reads: who may touch the queues."""
        fns = self.api.functions
        # Ingest enqueues condensation; a session reset may enqueue a final condensation.
        if "api_memory" in fns:
            self.pipeline.grant_enqueue(fns["api_memory"])
        # Ops endpoints and health report queue depth and dead letters.
        # (Route groups appear as routes are added to functions/routes.py, hence the membership checks.)
        for name in ("api_ops", "api_public"):
            if name in fns:
                self.pipeline.grant_depth_read(fns[name])
