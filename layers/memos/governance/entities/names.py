"""Names: the mention and relation types, name normalization, sentence splitting.

Names are normalized (NFKC, case, possessive 's, titles such as Dr./Mr.), so "Dr. Ana Silva's"
and "ana silva" are one entity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from memos.kernel.text import STOPWORDS

USER = "user"  # the speaker of first-person turns ("my sister Ana" → (user, sister, Ana))

TITLE = r"(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sir|Dame)\.?"
# The cheap look-behind first: at most positions no sentence ends, and it fails at once there (the
# same splits as with the titles checked first, in half the time).
_SENTENCE_RE = re.compile(
    r"(?<=[.!?])(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!Mrs\.)(?<!Prof\.)\s+|(?<=[。\uff01\uff1f\uff1b])|\n+"
)

# Capitalized words that are not names on their own.
NOT_NAMES = frozenset(
    [
        "i",
        "i'm",
        "i'll",
        "i've",
        "i'd",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "yes",
        "no",
        "yeah",
        "sure",
        "please",
        "sorry",
        "dear",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sir",
        "dame",
        "note",
        "todo",
        "update",
        "re",
        "fyi",
        "btw",
        "lol",
        "also",
        "however",
        "then",
        "so",
        "but",
        "and",
    ]
)
NOT_NAMES_OR_STOPWORDS = NOT_NAMES | STOPWORDS
_POSSESSIVE = re.compile(r"['\u2019]s$")
_TITLE_WORD = re.compile(TITLE)
TITLE_PREFIX = re.compile(rf"^{TITLE}\s+", re.I)


@dataclass(frozen=True)
class Mention:
    name: str  # display form, without title or possessive
    normalized: str
    type: str = "thing"  # person | place | org | thing | contact
    confident: bool = True  # False: a sentence-initial word; kept only if the namespace knows it


@dataclass(frozen=True)
class Relation:
    subject: Mention
    predicate: str
    object: Mention


USER_MENTION = Mention(USER, USER, "person")


def normalize_name(name: str) -> str:
    """Case, whitespace, possessive 's and titles do not make a new entity."""
    s = unicodedata.normalize("NFKC", name).strip().strip(".,;:!?\"'“”「」《》()")
    s = _POSSESSIVE.sub("", s)
    s = TITLE_PREFIX.sub("", s)
    return " ".join(s.lower().split())


def display_name(name: str) -> str:
    s = unicodedata.normalize("NFKC", name).strip().strip(".,;:!?\"'“”「」《》()")
    s = _POSSESSIVE.sub("", s)
    return TITLE_PREFIX.sub("", s).strip()


def clean_run(run: str) -> tuple[str, int]:
    """Drop leading words that are not names ("The", "Yesterday"); returns (name, words dropped)."""
    words = run.split()
    dropped = 0
    while words and (words[0].lower().rstrip(".") in STOPWORDS or words[0].lower() in NOT_NAMES):
        if _TITLE_WORD.fullmatch(words[0]) and len(words) > 1:
            break
        words.pop(0)
        dropped += 1
    while words and words[-1].lower() in NOT_NAMES_OR_STOPWORDS:
        words.pop()
    return " ".join(words), dropped


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]
