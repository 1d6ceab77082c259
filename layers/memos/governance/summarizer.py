"""Rolling session summaries: fold new turns into the previous summary.

A summary is structured: ``facts, decisions, preferences, constraints, pitfalls, open_tasks,
entities``, each a list of items ``{text, memory_ids, first_at}`` (entities also carry ``type``).
Folding keeps every item of the previous summary (a near-identical new item merges into it:
its memory ids join, the earliest ``first_at`` stays). Nothing is dropped to save space: the
rendered ``summary_text`` shows the newest items of each section and says how many it left out,
and the structure records those counts in ``omitted_from_text``.

The default summarizer is rule-based (English and Chinese cue patterns, no model). An optional
Bedrock summarizer asks a model to classify the new turns and folds its answer with the same
rules, so carried items never depend on a model remembering them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from memos.governance import entities
from memos.kernel.config import get_settings
from memos.kernel.observability import logger
from memos.kernel.text import content_terms, normalize
from memos.kernel.tokens import count_tokens

SENTENCE_CATEGORIES = ("facts", "decisions", "preferences", "constraints", "pitfalls", "open_tasks")
CATEGORIES = (*SENTENCE_CATEGORIES, "entities")
SUMMARY_VERSION = 1
MAX_ITEM_CHARS = 300  # one item's text; longer sentences are cut with "…"
RENDER_LIMITS = {  # newest items per section in summary_text; the structure keeps them all
    "preferences": 15,
    "constraints": 15,
    "decisions": 12,
    "facts": 15,
    "pitfalls": 10,
    "open_tasks": 10,
    "entities": 25,
}
_TITLES = {
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


@dataclass
class SummaryResult:
    summary: dict[str, Any]
    summary_text: str
    tokens_before: int
    tokens_after: int


class Summarizer(Protocol):
    name: str

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult: ...


# ---------------------------------------------------------------------------------------------
# Classification

_I = re.I
_EN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "preferences",
        re.compile(
            r"\b(?:i|we)\s+(?:really\s+|also\s+|do\s+not\s+|don'?t\s+|do\s+|still\s+)?"
            r"(?:prefer|like|love|enjoy|hate|dislike|adore|can'?t stand)\b"
            r"|\bmy\s+fav(?:ou)?rite\b|\bi'?m\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\b|\b(?:i'?d|i\s+would)\s+rather\b",
            _I,
        ),
    ),
    (
        "decisions",
        re.compile(
            r"\b(?:we|i|they|the team)\s+(?:have\s+|'ve\s+|just\s+)?(?:decided|agreed|chose|settled on|will use|"
            r"are going with|went with|picked|opted)\b|\b(?:we|i)'ll\s+use\b|\blet'?s\s+(?:go with|use|stick with)\b"
            r"|\bdecision\b",
            _I,
        ),
    ),
    (
        "pitfalls",
        re.compile(
            r"\b(?:watch out|careful|beware|bugs?|failed|fails|failing|failure|broke|broken|breaks|mistakes?|"
            r"errors?|crash(?:ed|es)?|outage|regression|gotcha|pitfall|doesn'?t work|didn'?t work|went wrong)\b",
            _I,
        ),
    ),
    (
        "constraints",
        re.compile(
            r"\b(?:must|mustn'?t|never|always|don'?t(?!\s+(?:know|think|remember|worry|mind))|do not|"
            r"can'?t(?!\s+wait)|cannot|shouldn'?t|should not|not allowed|required|requirement|deadline|"
            r"due (?:on|by)|budget|at most|at least|no more than|no later than|allergic|allergy)\b",
            _I,
        ),
    ),
    (
        "open_tasks",
        re.compile(
            r"\b(?:todo|to-do|need to|needs to|have to|has to|remind me|don'?t forget|remember to|follow up|"
            r"i'?ll|i will|we'?ll|we will|going to|gonna|plan to|planning to|next step|action item)\b",
            _I,
        ),
    ),
    (
        "facts",
        re.compile(
            r"\b(?:i am|i'm|i was|my\s+[\w-]+(?:\s+[\w-]+)?\s+(?:is|are|was|were)|i\s+(?:live|lived|work|worked|"
            r"study|studied|grew up|was born|have|own|moved|got)|(?:lives|lived|works|worked|born|located|based)\s+"
            r"(?:in|at|for|on)|is\s+(?:called|named)|[\w-]+'s\s+(?:birthday|name|address|phone))\b"
            r"|\d|\b(?:january|february|march|april|may|june|july|august|september|october|november|december|"
            r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            _I,
        ),
    ),
)
_ZH_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("preferences", re.compile(r"喜欢|偏好|更爱|最爱|讨厌|爱吃|爱喝|不爱")),
    ("decisions", re.compile(r"决定|同意|将使用|将采用|选定|定下|敲定|就用")),
    ("pitfalls", re.compile(r"注意|错误|失败|问题|出错|故障|崩溃|小心|坑|bug", _I)),
    ("constraints", re.compile(r"必须|不要|不能|不可以|禁止|截止|预算|务必|一定要|过敏|最多|至少|不得")),
    ("open_tasks", re.compile(r"需要|待办|提醒|记得|别忘|要去|计划|打算|下一步")),
    ("facts", re.compile(r"我是|我叫|住在|在.{1,12}工作|是|今年|岁|生日|来自|\d")),
)
_FILLER_EN = frozenset(
    [
        "ok",
        "okay",
        "k",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "a",
        "lot",
        "so",
        "much",
        "very",
        "sure",
        "great",
        "cool",
        "got",
        "it",
        "sounds",
        "good",
        "nice",
        "yes",
        "no",
        "yep",
        "yeah",
        "nope",
        "alright",
        "all",
        "right",
        "hmm",
        "hm",
        "lol",
        "haha",
        "bye",
        "hi",
        "hello",
        "hey",
        "perfect",
        "awesome",
        "noted",
        "right",
        "fine",
        "good",
        "morning",
        "evening",
        "night",
        "welcome",
        "np",
        "of",
        "course",
        "absolutely",
    ]
)
_FILLER_ZH = re.compile(
    r"(?:好的|好吧|好|谢谢你?|多谢|嗯+|收到|没问题|明白了?|可以|行|对|是的|哈+|了|啊|呀|吧)+"
)
_QUESTION = re.compile(r"[?\uff1f]\s*$|[吗呢]\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def is_filler(sentence: str) -> bool:
    s = normalize(sentence).strip(" .,!?;:~。\uff0c\uff01\uff1f\uff1b…、")
    if not s:
        return True
    if _CJK.search(s):
        return bool(_FILLER_ZH.fullmatch(re.sub(r"[\s,.!?\uff0c。\uff01\uff1f~]+", "", s)))
    words = re.findall(r"[a-z']+", s)
    return all(w in _FILLER_EN for w in words) and not re.search(r"\d", s)


def classify(sentence: str) -> str | None:
    """The category a sentence belongs to, or None (filler, questions, chatter without a cue)."""
    if is_filler(sentence):
        return None
    rules = _ZH_RULES if _CJK.search(sentence) else _EN_RULES
    question = bool(_QUESTION.search(sentence))
    for category, pattern in rules:
        if pattern.search(sentence) and (not question or category == "open_tasks"):
            return category
    return None


# ---------------------------------------------------------------------------------------------
# Folding


def _iso(value: datetime | str) -> str:
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


def _entity_items(turns: Sequence[Turn]) -> list[tuple[str, str, str, str]]:
    """(name, type, memory_id, first_at) for every confident entity mention in the turns."""
    out = []
    for t in turns:
        mentions, _relations = entities.extract(t.text)  # relation parties are among the mentions
        out += [(m.name, m.type, str(t.memory_id), _iso(t.occurred_at)) for m in mentions if m.confident]
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


def _speaker_prefix(role: str) -> str:
    return "" if role == "user" else f"({role}) "


def _result(previous: dict[str, Any] | None, turns: Sequence[Turn], summary: dict[str, Any]) -> SummaryResult:
    text = render(summary)
    before = count_tokens(render(previous)) + sum(count_tokens(t.text) for t in turns)
    return SummaryResult(
        summary=summary, summary_text=text, tokens_before=before, tokens_after=count_tokens(text)
    )


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
                        (_speaker_prefix(t.role) + sentence, [str(t.memory_id)], _iso(t.occurred_at))
                    )
        return out

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult:
        summary = fold(previous, self.classify_turns(turns), _entity_items(turns), self.name)
        return _result(previous, turns, summary)


_BEDROCK_SYSTEM = (
    "You classify conversation turns for a memory system. Reply with JSON only: an object with the keys "
    + ", ".join(SENTENCE_CATEGORIES)
    + ', each a list of {"text": short self-contained statement, "turns": [turn numbers it comes from]}.'
    " Keep the speaker's words and facts exactly; skip small talk."
)


class BedrockSummarizer:
    """Bedrock Converse classifies the new turns; folding stays rule-based (carried items are safe).

    Any failure (service error, a reply that is not the JSON asked for) falls back to the rules.
    """

    name = "bedrock"

    def __init__(self, model_id: str, client: Any = None, max_tokens: int = 1024) -> None:
        self.model_id = model_id
        self.max_tokens = max_tokens
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            s = get_settings()
            self._client = boto3.client("bedrock-runtime", region_name=s.aws_region)
        return self._client

    def _ask(self, turns: Sequence[Turn]) -> dict[str, list[tuple[str, list[str], str]]]:
        listing = "\n".join(f"[{i}] {t.role}: {t.text}" for i, t in enumerate(turns, 1))
        reply = self.client.converse(
            modelId=self.model_id,
            system=[{"text": _BEDROCK_SYSTEM}],
            messages=[{"role": "user", "content": [{"text": listing}]}],
            inferenceConfig={"maxTokens": self.max_tokens, "temperature": 0},
        )
        text = "".join(part.get("text", "") for part in reply["output"]["message"]["content"])
        data = json.loads(text[text.index("{") : text.rindex("}") + 1])
        out: dict[str, list[tuple[str, list[str], str]]] = {c: [] for c in SENTENCE_CATEGORIES}
        for category in SENTENCE_CATEGORIES:
            for item in data.get(category) or []:
                refs = [
                    turns[i - 1]
                    for i in item.get("turns") or []
                    if isinstance(i, int) and 1 <= i <= len(turns)
                ]
                if item.get("text") and refs:
                    first = min(_iso(t.occurred_at) for t in refs)
                    out[category].append((str(item["text"]), [str(t.memory_id) for t in refs], first))
        return out

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult:
        try:
            items = self._ask(turns)
        except Exception as exc:  # a model or network failure must not lose the condensation
            logger.warning("bedrock summarizer failed; using the rules", extra={"error": str(exc)})
            return RuleSummarizer().summarize(previous, turns)
        summary = fold(previous, items, _entity_items(turns), self.name)
        return _result(previous, turns, summary)


def get_summarizer() -> Summarizer:
    """Rules by default; Bedrock when settings say so (``summarizer``, ``bedrock_summary_model``)."""
    settings = get_settings()
    if getattr(settings, "summarizer", "rules") == "bedrock":
        model = getattr(settings, "bedrock_summary_model", None)
        if model:
            return BedrockSummarizer(str(model))
    return RuleSummarizer()
