"""The condensation trigger: when a session crosses its policy's turn or token threshold, one job.

A job is only a pointer ("condense this session"); the consumer reads the range to cover from
the sessions row, and a redelivered message finds its job id already done. Jobs go through an
outbox (migration 0012): ingest records them in its transaction, a background thread sends them
after the response (``send_after_response``; the response does not wait for SQS), and the
scheduled maintenance job sends again what stayed unsent (``resend_unsent``): at least once.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memos.governance.policy import Policy
from memos.kernel.config import get_settings
from memos.kernel.lazy import Lazy
from memos.kernel.observability import logger
from memos.store import condensations, db

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_lock = threading.Lock()  # guards _pending


def _make_sqs_client() -> Any:
    import boto3
    from botocore.config import Config

    s = get_settings()
    # Bounded: an unreachable queue must not stall ingest or ops for boto3's default minute.
    return boto3.client(
        "sqs",
        region_name=s.aws_region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}),
    )


_sqs: Lazy[Any] = Lazy(_make_sqs_client)


def sqs_client() -> Any:
    return _sqs.get()


def reset_client() -> None:
    _sqs.drop()


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
    """Send jobs in SendMessageBatch calls of ten, the calls at once, and take the ones the queue
    accepted out of the outbox; returns how many it accepted. Jobs it did not accept stay in the
    outbox for ``resend_unsent``."""
    queue_url = get_settings().condense_queue_url
    if not queue_url or not jobs:
        return 0
    chunks = [jobs[start : start + 10] for start in range(0, len(jobs), 10)]
    if len(chunks) == 1:
        sent = _send_chunk(queue_url, chunks[0])
    else:
        sent = [
            j
            for part in _chunk_pool.get().map(lambda chunk: _send_chunk(queue_url, chunk), chunks)
            for j in part
        ]
    if sent:
        try:
            with db.connection() as conn:
                condensations.mark_sent(conn, [(j.namespace, j.session_id, j.through_turn) for j in sent])
                conn.commit()
        except Exception as exc:  # they stay in the outbox: sent again later, which is harmless
            logger.warning("condensation outbox not cleared", extra={"jobs": len(sent), "error": str(exc)})
    return len(sent)


def send_after_response(jobs: list[CondensationJob]) -> None:
    """Send committed jobs in the background: the response does not wait for SQS. A send that never
    happens (the process ends first, SQS is down) leaves the job in the outbox for ``resend_unsent``."""
    if not jobs or not get_settings().condense_queue_url:
        return
    future = _sender.get().submit(send_jobs, jobs)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_done)


def flush(timeout_s: float = 30.0) -> bool:
    """Wait for the background sends started so far; False if some are still running at the timeout."""
    with _lock:
        pending = list(_pending)
    _, not_done = wait(pending, timeout=timeout_s)
    return not not_done


def resend_unsent(older_than_s: float = 60.0, limit: int = 1_000) -> int:
    """Send again the jobs of the outbox recorded ``older_than_s`` ago and still not sent (run by the
    scheduled maintenance job); returns how many the queue accepted."""
    if not get_settings().condense_queue_url:
        return 0
    with db.connection() as conn:
        rows = condensations.unsent(conn, older_than_s, limit)
        conn.commit()
    return send_jobs([CondensationJob(r["namespace"], r["session_id"], int(r["through_turn"])) for r in rows])


_MAX_PARALLEL_SENDS = 8
_pending: set[Future[int]] = set()
# One thread sends after the responses (in order); a send's chunks go out in parallel. Made on
# first use: none at import or in a SnapStart snapshot.
_sender: Lazy[ThreadPoolExecutor] = Lazy(
    lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="memos-condense-send")
)
_chunk_pool: Lazy[ThreadPoolExecutor] = Lazy(
    lambda: ThreadPoolExecutor(max_workers=_MAX_PARALLEL_SENDS, thread_name_prefix="memos-sqs")
)


def _done(future: Future[int]) -> None:
    with _lock:
        _pending.discard(future)
    if (exc := future.exception()) is not None:
        logger.warning("condensation send failed", extra={"error": str(exc)})


def _send_chunk(queue_url: str, chunk: list[CondensationJob]) -> list[CondensationJob]:
    """The jobs of ``chunk`` the queue accepted."""
    entries = [{"Id": str(i), "MessageBody": j.body()} for i, j in enumerate(chunk)]
    try:
        out = sqs_client().send_message_batch(QueueUrl=queue_url, Entries=entries)
    except Exception as exc:  # they stay in the outbox (resend_unsent)
        logger.warning("condensation enqueue failed", extra={"jobs": len(chunk), "error": str(exc)})
        return []
    for failure in out.get("Failed", []):
        logger.warning("condensation enqueue failed", extra={"job_id": chunk[int(failure["Id"])].job_id})
    return [chunk[int(ok["Id"])] for ok in out.get("Successful", [])]


def due_job(
    namespace: str, session_id: str, session: dict[str, Any], policy: Policy
) -> CondensationJob | None:
    """The job the session needs now, if any (``session``: its row after ingest reserved the turns,
    under the row lock); ``record_jobs`` puts it in the outbox. Once per crossing, not per message."""
    if not get_settings().condense_queue_url:
        return None
    pending = session["condense_enqueued_turn"] > session["condensed_through_turn"]
    # A job lost on the way (dead-lettered) must not stop the session condensing for good: once
    # another threshold's worth of turns arrives, enqueue again (condense is idempotent).
    stale = session["turn_count"] - session["condense_enqueued_turn"] >= policy.condense_after_turns
    new_turns = session["turn_count"] - session["condensed_through_turn"]
    new_tokens = session["token_count"] - session["condensed_token_count"]
    if (pending and not stale) or new_turns <= 0:
        return None
    if new_turns < policy.condense_after_turns and new_tokens < policy.condense_after_tokens:
        return None
    return CondensationJob(namespace, session_id, session["turn_count"])


def record_jobs(conn: psycopg.Connection[Any], namespace: str, jobs: list[CondensationJob]) -> None:
    """Put the jobs in the outbox, in the ingest's transaction (one statement)."""
    condensations.mark_enqueued(conn, namespace, [(j.session_id, j.through_turn) for j in jobs])
