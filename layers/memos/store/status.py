"""Memory and job statuses: one enum each, and the SQL predicates that read them, written once.

A memory is *live* when it is active and not past its expiry; every read path shows live
memories only. Governance keeps the others (duplicates, superseded facts, expired and deleted
rows) for history and audit, and ``KEPT_OUT`` names the ones a query may explain as filtered.
"""

from __future__ import annotations

from enum import StrEnum


class MemoryStatus(StrEnum):
    ACTIVE = "active"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    DELETED = "deleted"

    @property
    def is_kept_for_history(self) -> bool:
        """Linked to what replaced it, still explainable as filtered (not forgotten)."""
        return self in (MemoryStatus.DUPLICATE, MemoryStatus.SUPERSEDED, MemoryStatus.EXPIRED)


class JobStatus(StrEnum):
    """Background work: condensations go pending → done | failed, decay runs running → done | failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def live(alias: str = "") -> str:
    """SQL predicate: the memory is active and not past its expiry."""
    p = f"{alias}." if alias else ""
    return f"{p}status = '{MemoryStatus.ACTIVE}' AND ({p}expires_at IS NULL OR {p}expires_at > now())"


def active(alias: str = "") -> str:
    """SQL predicate: status active (expiry not considered; indexes are partial on this)."""
    p = f"{alias}." if alias else ""
    return f"{p}status = '{MemoryStatus.ACTIVE}'"


LIVE = live()
KEPT_OUT = (
    f"(status IN ('{MemoryStatus.DUPLICATE}', '{MemoryStatus.SUPERSEDED}', '{MemoryStatus.EXPIRED}')"
    f" OR (status = '{MemoryStatus.ACTIVE}' AND expires_at <= now()))"
)


WITH_HISTORY = f"(({LIVE}) OR status = '{MemoryStatus.SUPERSEDED}')"  # live memories and replaced facts


def current_as_of(param: str = "as_of") -> str:
    """SQL predicate on ``memories``: what was known and current at ``%(param)s``: live memories and
    facts superseded only later, that occurred by then (the replacing fact's ``occurred_at`` is the
    end of the older one's validity)."""
    return (
        f"(({LIVE}) OR (status = '{MemoryStatus.SUPERSEDED}' AND NOT EXISTS (SELECT 1 FROM memories nf"
        f" WHERE nf.id = memories.superseded_by AND nf.occurred_at <= %({param})s)))"
        f" AND occurred_at <= %({param})s"
    )
