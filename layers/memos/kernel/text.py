"""Text normalisation shared by embeddings, lexical matching and hashing."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
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
    speaker = _speaker(metadata)
    return f"{speaker}: {text}" if speaker is not None else text


def _speaker(metadata: dict[str, Any] | None) -> str | None:
    """The speaker ``indexed_text`` puts before a text, if any."""
    speaker = (metadata or {}).get("speaker")
    return speaker if isinstance(speaker, str) and speaker.strip() else None


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


def content_terms_and_indexed(
    docs: Sequence[tuple[str, dict[str, Any] | None]],
) -> tuple[list[list[str]], list[list[str]]]:
    """For (text, metadata) pairs: ``content_terms`` of each text and of its ``indexed_text``, each
    text tokenised once (``content_terms_many``) and each distinct speaker once. The terms of
    ``"{speaker}: {text}"`` are the speaker's followed by the text's: no word runs across the ``": "``
    between them (the pattern's tokens hold no colon or space), and NFKC and lower-casing change
    neither side across it. A text without a speaker shares its list (do not change them)."""
    speakers = [_speaker(metadata) for _, metadata in docs]
    distinct = list(dict.fromkeys(s for s in speakers if s is not None))
    found = content_terms_many([*(text for text, _ in docs), *distinct])
    own = found[: len(docs)]
    of_speaker = dict(zip(distinct, found[len(docs) :], strict=True))
    return own, [t if s is None else of_speaker[s] + t for s, t in zip(speakers, own, strict=True)]
