"""The condensation trigger: when a session crosses its policy's turn or token threshold, one job.

A job is only a pointer ("condense this session"); the consumer reads the range to cover from
the sessions row, so a message sent for a transaction that later failed does no harm, and a
redelivered message finds its job id already done.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memos.governance.policy import Policy
from memos.kernel.config import get_settings
from memos.kernel.observability import logger
from memos.store import condensations

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_lock = threading.Lock()
_sqs: Any = None


def sqs_client() -> Any:
    global _sqs
    if _sqs is None:
        with _lock:
            if _sqs is None:
                import boto3
                from botocore.config import Config

                s = get_settings()
                # Bounded: an unreachable queue must not stall ingest or ops for boto3's default minute.
                _sqs = boto3.client(
                    "sqs",
                    region_name=s.aws_region,
                    endpoint_url=s.aws_endpoint_url,
                    config=Config(
                        connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
                    ),
                )
    return _sqs


def reset_client() -> None:
    global _sqs
    _sqs = None


@dataclass
class CondensationJob:
    namespace: str
    session_id: str
    through_turn: int

    @property
    def job_id(self) -> str:
        return f"{self.namespace}/{self.session_id}/{self.through_turn}"

    def body(self) -> str:
        """The SQS message: a pointer to the session, not its turns (see the module docstring)."""
        return json.dumps(
            {
                "job_id": self.job_id,
                "namespace": self.namespace,
                "session_id": self.session_id,
                "through_turn": self.through_turn,
            }
        )


def send_jobs(jobs: list[CondensationJob]) -> int:
    """Send jobs in SendMessageBatch calls of ten, the calls at once (a batch's response waits for
    the slowest call, not for their sum); returns how many the queue accepted."""
    queue_url = get_settings().condense_queue_url
    if not queue_url or not jobs:
        return 0
    chunks = [jobs[start : start + 10] for start in range(0, len(jobs), 10)]
    if len(chunks) == 1:
        return _send_chunk(queue_url, chunks[0])
    with ThreadPoolExecutor(max_workers=min(_MAX_PARALLEL_SENDS, len(chunks))) as pool:
        return sum(pool.map(lambda chunk: _send_chunk(queue_url, chunk), chunks))


_MAX_PARALLEL_SENDS = 8


def _send_chunk(queue_url: str, chunk: list[CondensationJob]) -> int:
    entries = [{"Id": str(i), "MessageBody": j.body()} for i, j in enumerate(chunk)]
    try:
        out = sqs_client().send_message_batch(QueueUrl=queue_url, Entries=entries)
    except Exception as exc:  # lost jobs re-arm once the session gains another threshold of turns
        logger.warning("condensation enqueue failed", extra={"jobs": len(chunk), "error": str(exc)})
        return 0
    for failure in out.get("Failed", []):
        logger.warning("condensation enqueue failed", extra={"job_id": chunk[int(failure["Id"])].job_id})
    return len(out.get("Successful", []))


def maybe_enqueue_condensation(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, session: dict[str, Any], policy: Policy
) -> CondensationJob | None:
    """Called under the session row lock, after turns are reserved. Once per crossing, not per message."""
    if not get_settings().condense_queue_url:
        return None
    pending = session["condense_enqueued_turn"] > session["condensed_through_turn"]
    # A job lost on the way (send failed, or dead-lettered) must not stop the session condensing
    # for good: once another threshold's worth of turns arrives, enqueue again (condense is idempotent).
    stale = session["turn_count"] - session["condense_enqueued_turn"] >= policy.condense_after_turns
    new_turns = session["turn_count"] - session["condensed_through_turn"]
    new_tokens = session["token_count"] - session["condensed_token_count"]
    if (pending and not stale) or new_turns <= 0:
        return None
    if new_turns < policy.condense_after_turns and new_tokens < policy.condense_after_tokens:
        return None
    condensations.mark_enqueued(conn, namespace, session_id, session["turn_count"])
    return CondensationJob(namespace, session_id, session["turn_count"])
