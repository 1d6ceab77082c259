"""``/v1/ops/pipeline``: the condensation pipeline — queue figures, pending sessions, recent runs."""

from __future__ import annotations

from memos.kernel.config import get_settings
from memos.models.ops import OpsAuditEvent, OpsCondensation, OpsPipeline, OpsQueue
from memos.ops.visible import Visible
from memos.store import db
from memos.store import ops as store
from memos.store.status import JobStatus

CONDENSATION_STATUSES = (JobStatus.PENDING.value, JobStatus.DONE.value, JobStatus.FAILED.value)


def _queue_counts(url: str, names: list[str]) -> dict[str, int]:
    from memos.governance.trigger import sqs_client

    attrs = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {k: int(v) for k, v in attrs.items()}


def queue_status(visible: Visible) -> OpsQueue:
    """SQS figures; an unset, unreachable or (for a tenant key) cross-tenant queue is 'unavailable'."""
    settings = get_settings()
    if not visible.service_wide:
        return OpsQueue(
            available=False, detail="queue figures span every tenant: they need a key granted '*'"
        )
    if not settings.condense_queue_url:
        return OpsQueue(available=False, detail="no condensation queue is configured")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        main = _queue_counts(
            settings.condense_queue_url,
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        dlq = (
            _queue_counts(settings.condense_dlq_url, ["ApproximateNumberOfMessages"])
            if settings.condense_dlq_url
            else None
        )
    except (BotoCoreError, ClientError) as exc:
        return OpsQueue(available=False, detail=f"the queue is unreachable ({type(exc).__name__})")
    return OpsQueue(
        available=True,
        depth=main.get("ApproximateNumberOfMessages", 0),
        in_flight=main.get("ApproximateNumberOfMessagesNotVisible", 0),
        dead_lettered=dlq.get("ApproximateNumberOfMessages", 0) if dlq is not None else None,
    )


def pipeline(visible: Visible, limit: int) -> OpsPipeline:
    scope = visible.scope
    with db.connection() as conn:
        pending = store.pending_sessions(conn, scope)
        by_status = {**dict.fromkeys(CONDENSATION_STATUSES, 0), **store.condensations_by_status(conn, scope)}
        recent = store.recent_condensations(conn, scope, limit)
        decay = store.recent_decay_runs(conn, scope, limit)
        conn.rollback()
    return OpsPipeline(
        namespace=visible.namespace,
        queue=queue_status(visible),
        pending_sessions=pending,
        condensations_by_status=by_status,
        recent_condensations=[OpsCondensation.model_validate(r) for r in recent],
        recent_decay_runs=[OpsAuditEvent.model_validate(r) for r in decay],
    )
