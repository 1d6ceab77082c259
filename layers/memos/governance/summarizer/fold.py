"""Folding new items into the previous summary, and rendering it as compact text.

Folding keeps every item of the previous summary (a near-identical new item merges into it: its
memory ids join, the earliest ``first_at`` stays). The rendered text shows the newest items of
each section and says how many it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from memos.governance import entities
from memos.governance.summarizer.summary import (
    CATEGORIES,
    MAX_ITEM_CHARS,
    NEAR_DUPLICATE,
    RENDER_LIMITS,
    SUMMARY_VERSION,
    SummaryResult,
    Turn,
)
from memos.kernel.text import content_terms, normalize
from memos.kernel.tokens import count_tokens

_TITLES = {
    "preferences": "Preferences",
    "constraints": "Constraints",
    "decisions": "Decisions",
    "facts": "Facts",
    "pitfalls": "Pitfalls",
    "open_tasks": "Open tasks",
    "entities": "Entities",
}


def iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ITEM_CHARS else text[: MAX_ITEM_CHARS - 1].rstrip() + "…"


def _terms(text: str) -> frozenset[str]:
    return frozenset(content_terms(text))


class _Section:
    """One category's items: carried ones first, in order; new ones appended or merged.

    Near-duplicates are found through an index (exact normalized text, then items sharing a
    content term), so folding stays cheap as a long session's summary grows.
    """

    def __init__(self, category: str, carried: list[dict[str, Any]]) -> None:
        self.by_name = category == "entities"
        self.items = [dict(item) for item in carried if isinstance(item, dict) and item.get("text")]
        self._exact: dict[str, int] = {}
        self._by_term: dict[str, list[int]] = {}
        self._terms: list[frozenset[str]] = []
        for i, item in enumerate(self.items):
            self._index(i, str(item["text"]))

    def _exact_key(self, text: str) -> str:
        return entities.normalize_name(text) if self.by_name else normalize(text)

    def _index(self, i: int, text: str) -> None:
        self._exact.setdefault(self._exact_key(text), i)
        terms = frozenset() if self.by_name else _terms(text)
        self._terms.append(terms)
        for term in terms:
            self._by_term.setdefault(term, []).append(i)

    def _find(self, text: str) -> int | None:
        hit = self._exact.get(self._exact_key(text))
        if hit is not None or self.by_name:
            return hit
        terms = _terms(text)
        for i in sorted({i for term in terms for i in self._by_term.get(term, ())}):
            other = self._terms[i]
            if len(terms & other) / len(terms | other) >= NEAR_DUPLICATE:
                return i
        return None

    def add(self, text: str, memory_ids: list[str], first_at: str, **extra: Any) -> None:
        i = self._find(text)
        if i is None:
            self.items.append(
                {"text": text, "memory_ids": list(dict.fromkeys(memory_ids)), "first_at": first_at, **extra}
            )
            self._index(len(self.items) - 1, text)
            return
        item = self.items[i]
        item["memory_ids"] = list(dict.fromkeys([*item.get("memory_ids", []), *memory_ids]))
        item["first_at"] = min(str(item.get("first_at") or first_at), first_at)
        for k, v in extra.items():
            if item.get(k) in (None, "thing"):
                item[k] = v


def entity_items(turns: Sequence[Turn]) -> list[tuple[str, str, str, str]]:
    """(name, type, memory_id, first_at) for every confident entity mention in the turns."""
    out = []
    for t in turns:
        mentions, _relations = entities.extract(t.text)  # relation parties are among the mentions
        out += [(m.name, m.type, str(t.memory_id), iso(t.occurred_at)) for m in mentions if m.confident]
    return out


def fold(
    previous: dict[str, Any] | None,
    new_items: dict[str, list[tuple[str, list[str], str]]],
    new_entities: list[tuple[str, str, str, str]],
    summarizer: str,
) -> dict[str, Any]:
    """The previous summary with new items merged in; nothing carried is ever dropped."""
    prev = previous or {}
    sections = {c: _Section(c, list(prev.get(c) or [])) for c in CATEGORIES}
    for category, items in new_items.items():
        for text, memory_ids, first_at in items:
            sections[category].add(_clip(text), memory_ids, first_at)
    for name, type_, memory_id, first_at in new_entities:
        sections["entities"].add(name, [memory_id], first_at, type=type_)
    summary: dict[str, Any] = {"version": SUMMARY_VERSION, "summarizer": summarizer}
    summary.update({c: sections[c].items for c in CATEGORIES})
    summary["omitted_from_text"] = {
        c: len(sections[c].items) - RENDER_LIMITS[c]
        for c in CATEGORIES
        if len(sections[c].items) > RENDER_LIMITS[c]
    }
    return summary


def render(summary: dict[str, Any] | None) -> str:
    """Compact lines for context packs: one section per category, newest items last."""
    if not summary:
        return ""
    lines: list[str] = []
    for category in ("preferences", "constraints", "decisions", "facts", "pitfalls", "open_tasks"):
        items = summary.get(category) or []
        if not items:
            continue
        limit = RENDER_LIMITS[category]
        lines.append(f"{_TITLES[category]}:")
        if len(items) > limit:
            lines.append(f"- (+{len(items) - limit} earlier, kept in the stored summary)")
        lines += [f"- {item['text']}" for item in items[-limit:]]
    names = [item["text"] for item in summary.get("entities") or []]
    if names:
        limit = RENDER_LIMITS["entities"]
        more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
        lines.append(f"Entities: {', '.join(names[-limit:])}{more}")
    return "\n".join(lines)


def result(previous: dict[str, Any] | None, turns: Sequence[Turn], summary: dict[str, Any]) -> SummaryResult:
    text = render(summary)
    before = count_tokens(render(previous)) + sum(count_tokens(t.text) for t in turns)
    return SummaryResult(
        summary=summary, summary_text=text, tokens_before=before, tokens_after=count_tokens(text)
    )
