"""Local stand-ins for the background triggers: the SQS → Lambda event source mapping of the
condensation function, the decay schedule, and the retry of pending L1 cleanups.

``CondensationWorker`` long-polls the (moto) queue, hands each batch to the condense handler as an
SQS event, deletes the records that succeeded and leaves the failed ones: they reappear after the
visibility timeout, and the queue's redrive policy moves them to the DLQ after maxReceiveCount,
exactly as with the real event source mapping (ReportBatchItemFailures).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Self

from memos.kernel.observability import logger


class _Background:
    """A daemon thread running ``_run`` until ``stop()``; ``start()`` returns self for chaining."""

    thread_name = "memos-worker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError


class CondensationWorker(_Background):
    thread_name = "memos-condense-worker"

    def __init__(
        self, queue_url: str | None = None, *, batch_size: int = 10, wait_s: int = 1, idle_s: float = 0.2
    ) -> None:
        super().__init__()
        self._queue_url = queue_url
        self.batch_size = max(1, min(10, batch_size))
        self.wait_s = max(0, min(1, wait_s))  # ≤ 1 s so stop() is prompt
        self.idle_s = idle_s
        self._arn: str | None = None
        self.processed = 0
        self.failed = 0

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            from memos.kernel.config import get_settings

            url = get_settings().condense_queue_url
            if not url:
                raise RuntimeError("MEMOS_CONDENSE_QUEUE_URL is not set")
            self._queue_url = url
        return self._queue_url

    def _queue_arn(self, sqs: Any) -> str:
        if self._arn is None:
            attrs = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._arn = str(attrs["Attributes"]["QueueArn"])
        return self._arn

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll_once() == (0, 0):
                    self._stop.wait(self.idle_s)
            except Exception as exc:  # moto restarting, DB down: keep the worker alive, retry shortly
                logger.warning("condensation worker poll failed", extra={"error": str(exc)})
                self._stop.wait(1.0)

    def poll_once(self) -> tuple[int, int]:
        """Receive one batch and process it; returns (succeeded, failed)."""
        from functions.condense.handler import handler
        from infra.local.server import invoke
        from memos.governance.trigger import sqs_client

        sqs = sqs_client()
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_s,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0, 0
        event = {"Records": [self._record(m, self._queue_arn(sqs)) for m in messages]}
        try:
            response = invoke(handler, "condense", event)
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # the whole invocation failed: every record goes back to the queue
            logger.warning("condense handler failed", extra={"error": str(exc)})
            failed_ids = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        self.processed += len(done)
        self.failed += len(messages) - len(done)
        return len(done), len(messages) - len(done)

    def _record(self, message: dict[str, Any], arn: str) -> dict[str, Any]:
        attrs = message.get("Attributes") or {}
        body = message.get("Body", "")
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attrs.get("SentTimestamp", "0"),
                "SenderId": attrs.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "0"),
            },
            "messageAttributes": message.get("MessageAttributes") or {},
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": arn.split(":")[3] if arn.count(":") >= 5 else "us-east-1",
        }


class DecayTimer(_Background):
    """Local stand-in for the EventBridge schedule: invokes the decay handler every interval with a
    scheduled-event-shaped event, as the rule does in the cloud."""

    thread_name = "memos-decay-timer"

    def __init__(self, interval_s: float = 300.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.runs = 0

    def run_once(self) -> dict[str, Any]:
        import datetime
        import uuid

        from functions.decay.handler import handler
        from infra.local.server import invoke

        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "region": "local",
            "resources": ["arn:aws:events:local:000000000000:rule/memos-decay"],
            "time": datetime.datetime.now(datetime.UTC).isoformat(),
            "detail": {},
        }
        result = invoke(handler, "decay", event)
        self.runs += 1
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception as exc:  # a failed run is retried at the next tick, as with EventBridge
                logger.warning("local decay run failed", extra={"error": str(exc)})


class L1CleanupTimer(_Background):
    """Retries the L1 window drops that deletes could not finish while Redis was away
    (``memos.l1_cleanup``); in the cloud the decay job's schedule does this."""

    thread_name = "memos-l1-cleanup"

    def __init__(self, interval_s: float = 5.0) -> None:
        super().__init__()
        self.interval_s = interval_s

    def _run(self) -> None:
        from memos.memory import l1_cleanup

        while not self._stop.wait(self.interval_s):
            try:
                l1_cleanup.drain()
            except Exception as exc:  # PostgreSQL away too: try again at the next tick
                logger.warning("local L1 cleanup failed", extra={"error": str(exc)})
