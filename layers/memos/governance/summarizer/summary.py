"""What a summary holds: its sections, limits and the summarizer interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

SENTENCE_CATEGORIES = ("facts", "decisions", "preferences", "constraints", "pitfalls", "open_tasks")
CATEGORIES = (*SENTENCE_CATEGORIES, "entities")
SUMMARY_VERSION = 1
MAX_ITEM_CHARS = 300  # one item's text; longer sentences are cut with "…"
# Which sections must survive in summary_text when it has to shrink to stay under the tokens of
# what it replaces: people and the user's stated facts first, pitfalls last (never a count cut).
RENDER_PRIORITY = ("entities", "facts", "decisions", "preferences", "constraints", "open_tasks", "pitfalls")
TITLES = {  # the section headings of a rendered summary
    "preferences": "Preferences",
    "constraints": "Constraints",
    "decisions": "Decisions",
    "facts": "Facts",
    "pitfalls": "Pitfalls",
    "open_tasks": "Open tasks",
    "entities": "Entities",
}
NEAR_DUPLICATE = 0.8  # Jaccard similarity of content terms at which two items are one


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    occurred_at: datetime | str
    memory_id: UUID | str
    speaker: str | None = None  # who said it, in a multi-party chat (``metadata.speaker``)


@dataclass
class SummaryResult:
    summary: dict[str, Any]
    summary_text: str
    tokens_before: int
    tokens_after: int


class Summarizer(Protocol):
    name: str

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult: ...
