"""Observability: one dashboard and the alarms that page someone (API 5xx and p95 latency,
dead letters, background job errors, database and cache health), sent to an encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.api import Api
from infra.constructs.data import Data
from infra.constructs.pipeline import Pipeline

FIVE_MINUTES = Duration.minutes(5)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        api: Api,
        pipeline: Pipeline,
        data: Data,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="MemOS alarm topic")
        # CloudWatch publishes to the encrypted topic, so it must be able to use the key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"MemOS {config.name} alarms", master_key=key)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPublishThroughSSLOnly",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cw.Alarm] = []

        cache_dims = {"clusterId": data.cache.serverless_cache_name}
        rest_api = api.rest_api
        self._alarm(
            "Api5xx",
            rest_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            threshold=5,
            description="API returned 5xx responses",
        )
        self._alarm(
            "ApiP95Latency",
            rest_api.metric_latency(period=FIVE_MINUTES, statistic="p95"),
            threshold=config.api_p95_latency_ms,
            evaluation_periods=3,
            description=f"API p95 latency above {config.api_p95_latency_ms} ms",
        )
        self._alarm(
            "DeadLetters",
            pipeline.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Max"
            ),
            threshold=0,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="Condensation messages reached the dead-letter queue",
        )
        for name in ("condense", "decay", "migrate", "authorizer"):
            if name in functions:
                self._alarm(
                    f"{name.capitalize()}Errors",
                    functions[name].metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                    threshold=1,
                    description=f"{name} function errors",
                )
        self._alarm(
            "DatabaseCapacity",
            data.cluster.metric("ACUUtilization", period=FIVE_MINUTES, statistic="Average"),
            threshold=90,
            evaluation_periods=3,
            description="Aurora is near its maximum ACU",
        )
        self._alarm(
            "DatabaseCpu",
            data.cluster.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average"),
            threshold=90,
            evaluation_periods=3,
            description="Aurora CPU above 90%",
        )
        self._alarm(
            "CacheThrottled",
            cw.Metric(
                namespace="AWS/ElastiCache",
                metric_name="ThrottledCmds",
                dimensions_map=cache_dims,
                period=FIVE_MINUTES,
                statistic="Sum",
            ),
            threshold=0,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="Valkey throttled commands (ECPU limit reached)",
        )
        self._alarm(
            "CacheStorage",
            cw.Metric(
                namespace="AWS/ElastiCache",
                metric_name="BytesUsedForCache",
                dimensions_map=cache_dims,
                period=FIVE_MINUTES,
                statistic="Maximum",
            ),
            threshold=config.cache_max_storage_gb * 0.9 * 1024**3,
            description="Valkey storage above 90% of its limit",
        )
        self.dashboard = self._dashboard(api, pipeline, data, functions, cache_dims)

    def _alarm(
        self,
        alarm_id: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            alarm_id,
            alarm_name=f"memos-{self._config.name}-{alarm_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        api: Api,
        pipeline: Pipeline,
        data: Data,
        functions: dict[str, lambda_.Function],
        cache_dims: dict[str, str],
    ) -> cw.Dashboard:
        rest_api = api.rest_api
        dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"MemOS-{self._config.name}-{Stack.of(self).region}"
        )

        def cache_metric(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/ElastiCache", metric_name=name, dimensions_map=cache_dims, statistic=statistic
            )

        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[
                    rest_api.metric_count(),
                    rest_api.metric_client_error(),
                    rest_api.metric_server_error(),
                ],
            ),
            cw.GraphWidget(
                title="API latency (ms)",
                left=[rest_api.metric_latency(statistic="p50"), rest_api.metric_latency(statistic="p95")],
                right=[rest_api.metric_integration_latency(statistic="p95")],
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms)),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Function errors",
                left=[fn.metric_errors(label=name) for name, fn in functions.items()],
            ),
            cw.GraphWidget(
                title="Function p95 duration",
                left=[fn.metric_duration(statistic="p95", label=name) for name, fn in functions.items()],
            ),
            cw.GraphWidget(
                title="Function throttles",
                left=[fn.metric_throttles(label=name) for name, fn in functions.items()],
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Condensation queue",
                left=[
                    pipeline.queue.metric_approximate_number_of_messages_visible(label="visible"),
                    pipeline.queue.metric_approximate_number_of_messages_not_visible(label="in flight"),
                    pipeline.dlq.metric_approximate_number_of_messages_visible(label="dead letters"),
                ],
                right=[pipeline.queue.metric_approximate_age_of_oldest_message(label="oldest (s)")],
            ),
            cw.GraphWidget(
                title="Aurora",
                left=[
                    data.cluster.metric("ServerlessDatabaseCapacity", statistic="Average"),
                    data.cluster.metric("ACUUtilization", statistic="Average"),
                    data.cluster.metric_cpu_utilization(),
                ],
                right=[data.cluster.metric_database_connections()],
            ),
            cw.GraphWidget(
                title="Valkey",
                left=[
                    cache_metric("ElastiCacheProcessingUnits", "Sum"),
                    cache_metric("ThrottledCmds", "Sum"),
                ],
                right=[
                    cache_metric("SuccessfulReadRequestLatency", "p95"),
                    cache_metric("SuccessfulWriteRequestLatency", "p95"),
                ],
            ),
        )
        return dashboard
