"""Rolling session summaries: fold new turns into the previous summary.

A summary is structured: ``facts, decisions, preferences, constraints, pitfalls, open_tasks,
entities``, each a list of items ``{text, memory_ids, first_at}`` (entities also carry ``type``).
Folding keeps every item of the previous summary (a near-identical new item merges into it:
its memory ids join, the earliest ``first_at`` stays). A fact with the same single-valued key as a
newer one (``memos.memory.conflicts``: "I live in Paris" → "I live in Berlin") is marked
``replaced_by`` and stays in the structure, out of the text. The rendered ``summary_text`` shows
every current item (people, facts, decisions, preferences, constraints, open tasks, pitfalls) and
never has more tokens than what it replaces (the previous text plus the new turns): when it would,
it drops section titles, then the lowest-priority sections' oldest items, and counts what it left
out in ``omitted_from_text``.

The default summarizer is rule-based (English and Chinese cue patterns, no model). An optional
Bedrock summarizer asks a model to classify the new turns and folds its answer with the same
rules, so carried items never depend on a model remembering them.

Modules: ``summary`` (sections and the interface), ``english`` / ``chinese`` (cue rules),
``classify``, ``fold`` (fold and render), ``rules`` and ``bedrock`` (the two summarizers).
"""

from memos.governance.summarizer.bedrock import BedrockSummarizer
from memos.governance.summarizer.classify import classify, is_filler
from memos.governance.summarizer.fold import fold, render
from memos.governance.summarizer.rules import RuleSummarizer
from memos.governance.summarizer.summary import (
    CATEGORIES,
    MAX_ITEM_CHARS,
    NEAR_DUPLICATE,
    RENDER_PRIORITY,
    SENTENCE_CATEGORIES,
    SUMMARY_VERSION,
    Summarizer,
    SummaryResult,
    Turn,
)
from memos.kernel.config import get_settings


def get_summarizer() -> Summarizer:
    """Rules by default; Bedrock when settings say so (``summarizer``, ``bedrock_summary_model``)."""
    settings = get_settings()
    if getattr(settings, "summarizer", "rules") == "bedrock":
        model = getattr(settings, "bedrock_summary_model", None)
        if model:
            return BedrockSummarizer(str(model))
    return RuleSummarizer()


__all__ = [
    "CATEGORIES",
    "MAX_ITEM_CHARS",
    "NEAR_DUPLICATE",
    "RENDER_PRIORITY",
    "SENTENCE_CATEGORIES",
    "SUMMARY_VERSION",
    "BedrockSummarizer",
    "RuleSummarizer",
    "Summarizer",
    "SummaryResult",
    "Turn",
    "classify",
    "fold",
    "get_summarizer",
    "is_filler",
    "render",
]
