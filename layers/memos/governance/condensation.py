"""Condensation: fold a session's new turns into its rolling summary (one SQS job at a time).

A job is a pointer ``{job_id, namespace, session_id, through_turn}``. Processing is idempotent:
everything happens in one transaction under the session row lock, and a job id whose
condensation is already ``done`` is skipped, so a redelivered message never creates a second
summary (``condensations.job_id`` is UNIQUE as a last line of defence).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memos.governance import entities
from memos.governance.summarizer import SENTENCE_CATEGORIES, Summarizer, Turn, get_summarizer
from memos.kernel.errors import MemosError
from memos.kernel.observability import logger, metrics
from memos.models import NAME_PATTERN
from memos.store import audit, condensations, db

DONE, SKIPPED = "done", "skipped"


class InvalidJob(MemosError):
    """A message that is not a condensation job: it fails its record (and ends in the DLQ)."""

    status, code = 400, "invalid_job"


class CondensationJobMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=400)
    namespace: str = Field(pattern=NAME_PATTERN)
    session_id: str = Field(pattern=NAME_PATTERN)
    through_turn: int = Field(ge=1)


def parse_message(body: str) -> dict[str, Any]:
    """An SQS message body as a job dict; anything else raises InvalidJob."""
    try:
        job = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise InvalidJob("the message body is not JSON") from exc
    if not isinstance(job, dict):
        raise InvalidJob("the message body is not a JSON object")
    return job


def validate_job(job: Any) -> CondensationJobMessage:
    try:
        msg = CondensationJobMessage.model_validate(job)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        raise InvalidJob(f"not a condensation job (bad fields: {', '.join(fields)})", details=fields) from exc
    if msg.job_id != f"{msg.namespace}/{msg.session_id}/{msg.through_turn}":
        raise InvalidJob("job_id does not match namespace/session_id/through_turn")
    return msg


def condense(job: dict[str, Any], *, summarizer: Summarizer | None = None) -> str:
    """Process one job; returns "done" or "skipped". Raises InvalidJob for a malformed job."""
    msg = validate_job(job)
    summarizer = summarizer or get_summarizer()
    with db.connection() as conn:
        # The session row lock serialises this with ingest (which reserves turns under the same
        # lock) and with any redelivery of the same job.
        session = condensations.lock_session(conn, msg.namespace, msg.session_id)
        if session is None:  # the session was reset after the job was sent
            conn.rollback()
            return _skip(msg, "no_session")
        if condensations.is_done(conn, msg.job_id):
            conn.rollback()
            return _skip(msg, "already_done")

        # Cover everything up to the session's turn_count NOW, not the job's through_turn: turn
        # numbers are reserved under this row lock in the same transaction that inserts their
        # memories, so once turn_count = N is visible every turn <= N is committed. Taking the
        # current count catches up with turns ingested since the job was sent (their own job,
        # if any, then finds nothing new and skips), and the next range starts right after it:
        # ranges never overlap and never leave a gap.
        start = int(session["condensed_through_turn"]) + 1
        through = int(session["turn_count"])
        if through < start:
            conn.rollback()
            return _skip(msg, "no_new_turns")

        previous = condensations.latest_summary(conn, msg.namespace, msg.session_id)
        # Only live turns are summarized; duplicates, superseded, expired or deleted rows in the
        # range are skipped, yet the range itself stays contiguous by turn number.
        rows = condensations.active_turns(conn, msg.namespace, msg.session_id, start, through)
        turns = [
            Turn(
                r["role"],
                r["text"],
                r["occurred_at"],
                r["id"],
                speaker=(r.get("metadata") or {}).get("speaker"),
            )
            for r in rows
        ]
        result = summarizer.summarize(previous, turns)

        condensation_id = uuid.uuid4()
        condensations.save_done(
            conn,
            condensation_id=condensation_id,
            job_id=msg.job_id,
            namespace=msg.namespace,
            session_id=msg.session_id,
            from_turn=start,
            to_turn=through,
            summary=result.summary,
            summary_text=result.summary_text,
            tokens_before=result.tokens_before,
            tokens_after=result.tokens_after,
        )
        entities.record_mentions(
            conn, msg.namespace, _new_item_mentions(result.summary, {str(r["id"]) for r in rows})
        )
        audit.record(
            conn,
            "condense",
            namespace=msg.namespace,
            session_id=msg.session_id,
            actor="condense",
            details={
                "job_id": msg.job_id,
                "condensation_id": str(condensation_id),
                "from_turn": start,
                "to_turn": through,
                "turns_summarized": len(turns),
                "tokens_before": result.tokens_before,
                "tokens_after": result.tokens_after,
                "summarizer": summarizer.name,
            },
        )
        conn.commit()

    metrics.add_metric(name="Condensations", unit="Count", value=1)
    metrics.add_metric(
        name="CondensationTokensSaved", unit="Count", value=max(0, result.tokens_before - result.tokens_after)
    )
    logger.debug("condensed", extra={"job_id": msg.job_id, "from_turn": start, "to_turn": through})
    return DONE


def _new_item_mentions(summary: dict[str, Any], new_ids: set[str]) -> list[tuple[uuid.UUID, str]]:
    """(memory id, item text) for the summary items that came from this job's turns (for L3)."""
    out: list[tuple[uuid.UUID, str]] = []
    for category in SENTENCE_CATEGORIES:
        for item in summary.get(category) or []:
            text = re.sub(r"^\((?:assistant|agent|system|tool)\) ", "", str(item.get("text", "")))
            out += [(uuid.UUID(mid), text) for mid in item.get("memory_ids", []) if mid in new_ids]
    return out


def _skip(msg: CondensationJobMessage, reason: str) -> str:
    metrics.add_metric(name="CondensationsSkipped", unit="Count", value=1)
    logger.info("condensation skipped", extra={"job_id": msg.job_id, "reason": reason})
    return SKIPPED
