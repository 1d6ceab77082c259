"""Text normalisation shared by embeddings, lexical matching and hashing."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u4e00-\u9fff]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_FIRST = "\u4e00"  # every other token words() yields starts with [a-z0-9]

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "us",
        "our",
        "ours",
        "you",
        "your",
        "yours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "it",
        "its",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "can",
        "will",
        "just",
        "should",
        "would",
        "could",
        "may",
        "might",
        "must",
        "shall",
        "s",
        "t",
        "don",
        "doesn",
        "didn",
        "isn",
        "aren",
        "wasn",
        "weren",
        "about",
        "above",
        "after",
        "again",
        "against",
        "below",
        "between",
        "into",
        "through",
        "during",
        "before",
        "under",
        "over",
        "up",
        "down",
        "out",
        "off",
        "also",
        "ok",
        "okay",
        "yeah",
        "yes",
        "oh",
        "well",
        "really",
        "like",
        "get",
        "got",
        "let",
        "lets",
        "i'm",
        "you're",
        "it's",
        "that's",
    ]
)

# A Snowball stemmer keeps its working state on the instance: one per thread (the local server is
# threaded). Its word cache is off: stemmed words of memories stay out of process memory (forgetting).
_stemmers = threading.local()


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def content_hash(text: str) -> str:
    """Hash of the normalised text: case and whitespace do not make a new memory."""
    return hashlib.sha256(normalize(text).encode()).hexdigest()


def stem(word: str) -> str:
    """Snowball English (Porter2), the stemmer of PostgreSQL's ``english`` configuration, so BM25
    ranking and full-text recall stem alike: 'move', 'moved', 'moves' and 'moving' meet at 'move'."""
    if _CJK.match(word):
        return word
    return str(_stemmer().stemWord(word))


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = Stemmer.Stemmer("english", 0)
    return stemmer


def words(text: str) -> list[str]:
    # ASCII is its own NFKC form, and spacing does not change what the pattern finds.
    return _WORD.findall(text.lower() if text.isascii() else normalize(text))


def content_terms(text: str) -> list[str]:
    """Stemmed words without stopwords: what a text is about."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def indexed_text(text: str, metadata: dict[str, Any] | None) -> str:
    """What a memory is about for search (embedding, lexical terms): its text and, for multi-party
    chats, its speaker."""
    speaker = (metadata or {}).get("speaker")
    return f"{speaker}: {text}" if isinstance(speaker, str) and speaker.strip() else text


def content_terms_many(texts: Iterable[str]) -> list[list[str]]:
    """``content_terms`` of each text, stemming each distinct word once, in one call into the
    stemmer (a batch, or a query's candidates, repeat most of their words). The memo lives for this
    call only: no request's words outlive it."""
    found = [[w for w in words(text) if w not in STOPWORDS] for text in texts]
    distinct = list({w: None for ws in found for w in ws})
    stems = dict(zip(distinct, _stemmer().stemWords(distinct), strict=True))
    for w in distinct:
        if w[0] >= _CJK_FIRST:  # a Chinese character is its own term (words() yields one per token)
            stems[w] = w
    return [[stems[w] for w in ws] for ws in found]
