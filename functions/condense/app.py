"""SQS consumer: one condensation job per record; a bad record fails alone (partial batch response).
After each job, its namespace's graph backlog is drained if it grew (``memos.retrieval.ann``).

Failed records return to the queue and, after the queue's maxReceiveCount, land in its DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from memos.governance import condensation
from memos.kernel.observability import logger, metrics
from memos.retrieval import ann

# An all-failed batch is reported record by record too (not raised): the same outcome for SQS,
# and callers such as the local worker read one shape.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> str:
    try:
        job = condensation.parse_message(record.body)
        outcome = condensation.condense(job)
    except condensation.InvalidJob as exc:
        metrics.add_metric(name="CondensationJobsInvalid", unit="Count", value=1)
        logger.warning(
            "invalid condensation job", extra={"message_id": record.message_id, "error": exc.message}
        )
        raise
    # Its namespace was just written to: move a grown graph backlog into the graph (the scheduled
    # job does it otherwise). The job is done whatever happens here.
    try:
        ann.drain_if_due(job["namespace"])
    except Exception:
        logger.exception("ann backlog drain failed", extra={"namespace": job["namespace"]})
    return outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
