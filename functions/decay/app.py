"""EventBridge scheduled job: queries' access feedback (memos.retrieval.feedback), importance decay and
TTL expiry (memos.governance.decay), the per-namespace vector indexes (memos.retrieval.ann), and
condensation jobs left unsent in the outbox (memos.governance.trigger)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from memos.governance import trigger
from memos.governance.decay import run_decay
from memos.kernel.observability import logger, metrics
from memos.retrieval import ann, feedback


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Leave 20 s of the invocation for the final bookkeeping; the next run resumes from the cursor.
    budget_s = max(5.0, context.get_remaining_time_in_millis() / 1000 - 20)
    touches = feedback.apply()
    report = run_decay(time_budget_s=budget_s)
    indexes = ann.maintain(drain_budget_s=max(0.0, context.get_remaining_time_in_millis() / 1000 - 20))
    resent = trigger.resend_unsent()
    logger.info(
        "maintenance", extra={"touches_applied": touches, "condensation_jobs_resent": resent, **indexes}
    )
    metrics.add_metric(name="MemoriesExpired", unit="Count", value=report.expired)
    metrics.add_metric(name="MemoriesDecayed", unit="Count", value=report.decayed)
    logger.info("decay run", extra=asdict(report))
    return {k: str(v) if k == "run_id" else v for k, v in asdict(report).items()}
