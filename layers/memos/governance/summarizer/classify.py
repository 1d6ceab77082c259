"""One sentence's category: the first cue (in the sentence's language) that matches, or None."""

from __future__ import annotations

import re

from memos.governance.summarizer import chinese, english
from memos.kernel.text import normalize

_QUESTION = re.compile(r"[?\uff1f]\s*$|[吗呢]\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def is_filler(sentence: str) -> bool:
    s = normalize(sentence).strip(" .,!?;:~。\uff0c\uff01\uff1f\uff1b…、")
    if not s:
        return True
    if _CJK.search(s):
        return bool(chinese.FILLER.fullmatch(re.sub(r"[\s,.!?\uff0c。\uff01\uff1f~]+", "", s)))
    words = re.findall(r"[a-z']+", s)
    return all(w in english.FILLER for w in words) and not re.search(r"\d", s)


def classify(sentence: str) -> str | None:
    """The category a sentence belongs to, or None (filler, questions, chatter without a cue)."""
    if is_filler(sentence):
        return None
    rules = chinese.RULES if _CJK.search(sentence) else english.RULES
    question = bool(_QUESTION.search(sentence))
    for category, pattern in rules:
        if pattern.search(sentence) and (not question or category == "open_tasks"):
            return category
    return None
