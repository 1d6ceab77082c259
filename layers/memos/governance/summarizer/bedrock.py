"""The optional Bedrock summarizer: a model classifies the new turns, the rules fold them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memos.governance.summarizer.fold import entity_items, fold, iso, result
from memos.governance.summarizer.rules import RuleSummarizer
from memos.governance.summarizer.summary import SENTENCE_CATEGORIES, SummaryResult, Turn
from memos.kernel.config import get_settings
from memos.kernel.observability import logger

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
                    first = min(iso(t.occurred_at) for t in refs)
                    out[category].append((str(item["text"]), [str(t.memory_id) for t in refs], first))
        return out

    def summarize(self, previous: dict[str, Any] | None, turns: Sequence[Turn]) -> SummaryResult:
        try:
            items = self._ask(turns)
        except Exception as exc:  # a model or network failure must not lose the condensation
            logger.warning("bedrock summarizer failed; using the rules", extra={"error": str(exc)})
            return RuleSummarizer().summarize(previous, turns)
        summary = fold(previous, items, entity_items(turns), self.name)
        return result(previous, turns, summary)
