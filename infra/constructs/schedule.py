"""Schedule: an EventBridge rule that runs the decay job (importance decay and TTL expiry)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.compute import Compute


class Schedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, compute: Compute) -> None:
        super().__init__(scope, construct_id)
        self.decay: lambda_.Function = compute.function("decay")
        self.rule = events.Rule(
            self,
            "DecayRule",
            description="MemOS decay pass",
            schedule=events.Schedule.rate(Duration.minutes(config.decay_rate_minutes)),
            targets=[
                targets.LambdaFunction(
                    self.decay, retry_attempts=2, max_event_age=Duration.minutes(config.decay_rate_minutes)
                )
            ],
        )
