"""Folding new items into the previous summary, and rendering it as compact text.

Folding keeps every item of the previous summary (a near-identical new item merges into it: its
memory ids join, the earliest ``first_at`` stays); a fact replaced by a newer value of the same
single-valued key is marked ``replaced_by``. The rendered text shows every current item, within
the tokens of what the summary replaces (see ``render``).
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
    RENDER_PRIORITY,
    SUMMARY_VERSION,
    TITLES,
    SummaryResult,
    Turn,
)
from memos.kernel.text import content_terms, normalize
from memos.kernel.tokens import count_tokens
from memos.memory.conflicts import turn_fact_key


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


# Capitalised sentence openers the entity extractor may take for names.
_NOT_NAMES = frozenset(
    [
        "actually",
        "also",
        "anyway",
        "btw",
        "guess",
        "hey",
        "hi",
        "hmm",
        "maybe",
        "oh",
        "ok",
        "okay",
        "so",
        "sure",
        "thanks",
        "today",
        "tomorrow",
        "update",
        "well",
        "yesterday",
        "yes",
        "no",
    ]
)


def entity_items(turns: Sequence[Turn]) -> list[tuple[str, str, str, str]]:
    """(name, type, memory_id, first_at) for every confident entity mention in the turns."""
    out = []
    for t in turns:
        mentions, _relations = entities.extract(t.text)  # relation parties are among the mentions
        out += [
            (m.name, m.type, str(t.memory_id), iso(t.occurred_at))
            for m in mentions
            if m.confident and m.name.lower() not in _NOT_NAMES
        ]
    return out


def _fact_key(text: str) -> str | None:
    """The single-valued key an item states ("Ana: I live in Lisbon." → ``ana|home city``)."""
    speaker, sep, rest = text.partition(": ")
    if sep and 0 < len(speaker) <= 40 and not speaker.startswith("("):
        key = turn_fact_key(rest)
        return f"{speaker.lower()}|{key[5:]}" if key else None
    return turn_fact_key(text)


def _mark_replaced(items: list[dict[str, Any]]) -> None:
    """An older fact whose key a newer one states again is replaced (kept, not rendered)."""
    newest: dict[str, dict[str, Any]] = {}
    for item in reversed(items):
        key = _fact_key(str(item["text"]))
        if key is None:
            continue
        if key in newest:
            item["replaced_by"] = newest[key]["text"]
        else:
            newest[key] = item
            item.pop("replaced_by", None)


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
    _mark_replaced(sections["facts"].items)
    summary: dict[str, Any] = {"version": SUMMARY_VERSION, "summarizer": summarizer}
    summary.update({c: sections[c].items for c in CATEGORIES})
    summary["omitted_from_text"] = {}
    return summary


_ORDER = ("preferences", "constraints", "decisions", "facts", "pitfalls", "open_tasks")


def _current(summary: dict[str, Any]) -> dict[str, list[str]]:
    out = {c: [str(i["text"]) for i in summary.get(c) or [] if not i.get("replaced_by")] for c in _ORDER}
    # Entities named only in replaced facts are history too.
    kept_ids = {
        m
        for c in _ORDER
        for i in summary.get(c) or []
        if not i.get("replaced_by")
        for m in i.get("memory_ids", [])
    }
    old_ids = {m for i in summary.get("facts") or [] if i.get("replaced_by") for m in i.get("memory_ids", [])}
    gone = old_ids - kept_ids
    named = [
        i
        for i in summary.get("entities") or []
        if not (set(i.get("memory_ids") or []) and set(i["memory_ids"]) <= gone)
    ]
    people = [i for i in named if i.get("type") == "person"]
    others = [i for i in named if i.get("type") != "person"]
    out["entities"] = [str(i["text"]) for i in people + others]
    return out


def _lines(sections: dict[str, list[str]], style: str) -> str:
    lines: list[str] = []
    for category in _ORDER:
        items = sections[category]
        if not items:
            continue
        if style == "full":
            lines.append(f"{TITLES[category]}:")
            lines += [f"- {text}" for text in items]
        elif style == "compact":
            lines.append(f"{TITLES[category]}: {' '.join(items)}")
        else:
            lines.append(" ".join(items))
    said = " ".join(t for c in _ORDER for t in sections[c]).lower()
    names = (
        sections["entities"]
        if style == "full"
        else [n for n in sections["entities"] if n.lower() not in said]
    )
    if names:
        lines.append(f"Entities: {', '.join(names)}")
    return "\n".join(lines)


def render(summary: dict[str, Any] | None, budget: int | None = None) -> str:
    """Every current item, one section per category (items oldest first), then the people and
    other entities. Within ``budget`` tokens: section titles go inline, then go away, then the
    lowest-priority sections (``RENDER_PRIORITY``) lose their oldest items; what was left out is
    counted in ``summary["omitted_from_text"]``."""
    if not summary:
        return ""
    sections = _current(summary)
    omitted: dict[str, int] = {}
    for style in ("full", "compact", "bare"):
        text = _lines(sections, style)
        if budget is None or count_tokens(text) <= budget:
            summary["omitted_from_text"] = omitted
            return text
    assert budget is not None
    for category in reversed(RENDER_PRIORITY):
        while sections[category] and count_tokens(text) > budget:
            sections[category].pop(0)
            omitted[category] = omitted.get(category, 0) + 1
            text = _lines(sections, "bare")
    summary["omitted_from_text"] = omitted
    return text


def result(previous: dict[str, Any] | None, turns: Sequence[Turn], summary: dict[str, Any]) -> SummaryResult:
    """Render within what the summary replaces: the previous text's tokens plus the new turns'."""
    prev_tokens = (previous or {}).get("text_tokens")
    if not isinstance(prev_tokens, int):
        prev_tokens = count_tokens(render(previous))
    before = prev_tokens + sum(count_tokens(t.text) for t in turns)
    text = render(summary, budget=before)
    summary["text_tokens"] = count_tokens(text)
    return SummaryResult(
        summary=summary, summary_text=text, tokens_before=before, tokens_after=count_tokens(text)
    )
