"""SQS consumer: one condensation job per record; a bad record fails alone (partial batch response).
After the batch, the graph backlog of each namespace it condensed is drained if it grew
(``memos.retrieval.ann``), within the invocation's remaining time.

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
        return condensation.condense(job)
    except condensation.InvalidJob as exc:
        metrics.add_metric(name="CondensationJobsInvalid", unit="Count", value=1)
        logger.warning(
            "invalid condensation job", extra={"message_id": record.message_id, "error": exc.message}
        )
        raise


# Time kept back for the drain's last batch and the response, so a drain never meets the timeout.
DRAIN_MARGIN_S = 10.0


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # Its namespaces were just written to: move a grown graph backlog into the graph (the scheduled
    # job does it otherwise), once per namespace, in the time left. The jobs are done whatever
    # happens here.
    for namespace in _namespaces(event):
        budget_s = context.get_remaining_time_in_millis() / 1000 - DRAIN_MARGIN_S
        if budget_s <= 0:
            break
        try:
            ann.drain_if_due(namespace, budget_s=budget_s)
        except Exception:
            logger.exception("ann backlog drain failed", extra={"namespace": namespace})
    return response


def _namespaces(event: dict[str, Any]) -> list[str]:
    """The distinct namespaces of the batch's valid jobs, in order."""
    found: dict[str, None] = {}
    for record in event.get("Records", []):
        try:
            namespace = condensation.parse_message(record["body"]).get("namespace")
        except (condensation.InvalidJob, KeyError):
            continue
        if isinstance(namespace, str):
            found[namespace] = None
    return list(found)
