"""The default summarizer: cue patterns per sentence (English and Chinese), no model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memos.governance import entities
from memos.governance.summarizer.classify import classify
from memos.governance.summarizer.fold import entity_items, fold, iso, result
from memos.governance.summarizer.summary import SENTENCE_CATEGORIES, SummaryResult, Turn


def _speaker_prefix(role: str, speaker: str | None = None) -> str:
    """Who said it: the speaker's name in a multi-party chat, the role for non-user turns."""
    if speaker and speaker.strip():
        return f"{speaker.strip()}: "
    return "" if role == "user" else f"({role}) "


class RuleSummarizer:
    """Cue patterns per sentence (English and Chinese); no model, ~microseconds per turn."""

    name = "rules"

    def classify_turns(self, turns: Sequence[Turn]) -> dict[str, list[tuple[str, list[str], str]]]:
        out: dict[str, list[tuple[str, list[str], str]]] = {c: [] for c in SENTENCE_CATEGORIES}
        for t in turns:
            for sentence in entities.sentences(t.text):
                category = classify(sentence)
                if category is not None:
                    out[category].append(
                        (
                            _speaker_prefix(t.role, t.speaker) + sentence,
                            [str(t.memory_id)],
                            iso(t.occurred_at),
                        )
                    )
        return out

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult:
        summary = fold(previous, self.classify_turns(turns), entity_items(turns), self.name)
        return result(previous, turns, summary)
