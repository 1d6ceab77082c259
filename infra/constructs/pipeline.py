"""Pipeline: the condensation queue (with a dead-letter queue) and its consumer."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.compute import ALL_FUNCTIONS, Compute

CONDENSE = "condense"


class Pipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, compute: Compute) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "CondenseDlq",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        consumer_timeout = Duration.seconds(ALL_FUNCTIONS[CONDENSE].timeout_s)
        self.queue = sqs.Queue(
            self,
            "CondenseQueue",
            # AWS guidance: at least six times the consumer's timeout, so retries never overlap.
            visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * 6),
            retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=config.condense_max_receive_count
            ),
        )
        compute.set_environment("MEMOS_CONDENSE_QUEUE_URL", self.queue.queue_url)
        compute.set_environment("MEMOS_CONDENSE_DLQ_URL", self.dlq.queue_url)

        self.consumer: lambda_.Function = compute.function(CONDENSE)
        self.consumer.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=config.condense_batch_size,
                max_batching_window=Duration.seconds(5),
                report_batch_item_failures=True,
            )
        )

    def grant_enqueue(self, fn: lambda_.IFunction) -> None:
        self.queue.grant_send_messages(fn)

    def grant_depth_read(self, fn: lambda_.IFunction) -> None:
        """Queue depth and dead-letter counts for the ops endpoints."""
        for queue in (self.queue, self.dlq):
            queue.grant(fn, "sqs:GetQueueAttributes")
