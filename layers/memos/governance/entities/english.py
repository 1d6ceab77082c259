"""English rules: capitalized word runs, emails and @handles, types from cues, relations.

A capitalized run ("Fushimi Inari", "Dr. Ana Silva") not at a sentence's start is a name; a
sentence-initial word counts when a relation cue follows it or the namespace already knows it.
Types come from cues ("my sister X" → person, "works at X" → org, "in/at/to X" → place) and name
suffixes ("University", "Station"); "in/to X" is no place when X is written like a product
(PostgreSQL, BigQuery) or follows a technical verb or object ("migrated the data to Snowflake").
Plurals of calendar words ("Fridays") and the letters of identifiers ("PAY-" of PAY-1234) are not
names. Relations: "my sister X" / "X is my sister" → (user, sister,
X); "X is Y's sister" → (Y, sister, X); "X works at Y" → (X, works_at, Y); "X lives in Y" →
(X, lives_in, Y).
"""

from __future__ import annotations

import re

from memos.governance.entities.names import (
    NOT_NAMES,
    TITLE,
    TITLE_PREFIX,
    USER_MENTION,
    Mention,
    Relation,
    clean_run,
    display_name,
    normalize_name,
)
from memos.kernel.text import STOPWORDS

_CAP = r"[A-Z][A-Za-z'\u2019\-]*"
_NAME = rf"(?:{TITLE}\s+)?{_CAP}(?:\s+{_CAP})*"
_NAME_RE = re.compile(rf"(?<![\w@.]){_NAME}")
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_HANDLE_RE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_]{2,30}\b")

KINSHIP = (
    "sister|brother|mother|mom|mum|father|dad|wife|husband|partner|friend|boss|colleague|coworker|"
    "son|daughter|cousin|aunt|uncle|manager|girlfriend|boyfriend|roommate|neighbor|neighbour|"
    "grandmother|grandfather|grandma|grandpa|niece|nephew|teacher|doctor"
)
_PREDICATE = {"mom": "mother", "mum": "mother", "dad": "father", "neighbour": "neighbor"}
_LETTER = re.compile(r"[A-Za-z]")
_PERSON_TAIL = re.compile(
    rf"^\s*(?:said|says|told|asked|thinks|wants|is my|was my|['\u2019]s (?:{KINSHIP})\b)"
)
_REL_TAIL = re.compile(
    r"^\s*(?:lives|lived|works|worked|is|was|said|says|told|asked|moved|has|will|and|visited|likes|loves)\b"
)
_ORG_CUE = re.compile(
    r"(?:works?|worked|working|job|intern(?:ing)?|employed|hired)\s+(?:at|for|by)\s+$|joined\s+$", re.I
)
_PLACE_CUE = re.compile(
    r"\b(?:in|to|from|near|at|into|around|visit|visited|visiting|moved to|lives in|live in|flew to)\s+(?:the\s+)?$",
    re.I,
)
_PERSON_CUE = re.compile(rf"(?:\b(?:my|his|her|our|their)\s+(?:{KINSHIP})\s*,?\s+|{TITLE}\s+)$", re.I)
_ORG_SUFFIX = re.compile(
    r"\b(?:Inc|Corp|Corporation|Ltd|LLC|GmbH|Company|Co|University|College|Bank|Labs|Group|Institute|Foundation|Hospital|School)\.?$"
)
_PLACE_SUFFIX = re.compile(
    r"\b(?:Street|St|Avenue|Road|Park|City|Lake|Mountain|Mount|River|Shrine|Temple|Station|Airport|Beach|Island|Valley|Bridge|Square|Museum|Castle|Inari)$"
)

_EN_REL_KIN_MY = re.compile(rf"\b[Mm]y\s+({KINSHIP})\s*,?\s+({_NAME})")
_EN_REL_IS_MY = re.compile(rf"({_NAME})\s+is\s+my\s+({KINSHIP})\b")
_EN_REL_IS_POSS = re.compile(rf"({_NAME})\s+is\s+({_NAME})['\u2019]s\s+({KINSHIP})\b")
_EN_REL_WORKS = re.compile(
    rf"(\bI|{_NAME})\s+(?:works?|worked|is working|am working)\s+(?:at|for)\s+({_NAME})"
)
_EN_REL_LIVES = re.compile(
    rf"(\bI|\bwe|{_NAME})\s+(?:lives?|lived|is living|am living|moved|relocated)\s+(?:in|to)\s+({_NAME})"
)


# Words before "in/to/from X" that say X is a system, not a place ("migrated the warehouse to
# Snowflake", "our data lives in PostgreSQL", "query it from Python").
_TECH_BEFORE = re.compile(
    r"\b(?:migrat\w*|deploy\w*|stor(?:e|ed|ing)|load\w*|export\w*|import\w*|upload\w*|push\w*|sync\w*"
    r"|port(?:ed|ing)?|switch\w*|upgrad\w*|quer(?:y|ied|ying)|writ\w*|written|built|host\w*|install\w*"
    r"|data|logs?|tables?|database|warehouse|code|service|files?|pipeline|it)\b(?:\s+\w+){0,3}\s+"
    r"(?:in|to|from|into|on|onto)\s+(?:the\s+)?$",
    re.I,
)
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")  # PostgreSQL, BigQuery, GitHub: product names


def _type_for(name: str, before: str, after: str) -> str:
    if _PERSON_CUE.search(before) or _PERSON_TAIL.match(after) or TITLE_PREFIX.match(name):
        return "person"
    if _ORG_SUFFIX.search(name) or _ORG_CUE.search(before):
        return "org"
    if _PLACE_SUFFIX.search(name):
        return "place"
    if _PLACE_CUE.search(before) and not _INNER_CAPITAL.search(name) and not _TECH_BEFORE.search(before):
        return "place"
    return "thing"


def _not_a_name(name: str, after: str) -> bool:
    """A plural of a calendar or filler word ("Fridays"), or the letters of an identifier ("PAY-"
    of PAY-1234, "Q" of Q3): never a name of its own."""
    lowered = name.lower()
    if " " not in lowered and lowered.endswith("s") and lowered[:-1] in NOT_NAMES:
        return True
    return name.endswith(("-", "'", "\u2019")) or after[:1].isdigit()


def mentions(sentence: str) -> list[Mention]:
    out: list[Mention] = []
    masked = sentence
    if "@" in sentence:  # an email or a handle has one; most sentences have none (no scans)
        masked = _EMAIL_RE.sub(lambda m: " " * len(m.group()), sentence)
        for m in _EMAIL_RE.finditer(sentence):
            out.append(Mention(m.group(), m.group().lower(), "contact"))
        for m in _HANDLE_RE.finditer(masked):
            out.append(Mention(m.group(), m.group().lower(), "contact"))
    first_word = _LETTER.search(masked)
    sentence_start = first_word.start() if first_word else -1
    for m in _NAME_RE.finditer(masked):
        name, dropped = clean_run(m.group())
        if not name or name.lower() in NOT_NAMES or _not_a_name(m.group(), masked[m.end() : m.end() + 1]):
            continue
        display = display_name(name)
        norm = " ".join(display.lower().split())  # normalize_name(name), from the display form
        if not norm or norm in STOPWORDS:
            continue
        at_start = m.start() == sentence_start and dropped == 0
        before, after = masked[max(0, m.start() - 40) : m.start()], masked[m.end() : m.end() + 40]
        confident = (
            not at_start or " " in display or bool(_REL_TAIL.match(after) or _PERSON_TAIL.match(after))
        )
        out.append(Mention(display, norm, _type_for(name, before, after), confident))
    return out


def _party(raw: str, kind: str = "person") -> Mention | None:
    if raw.strip().lower() in ("i", "we"):
        return USER_MENTION
    name, _ = clean_run(raw)
    norm = normalize_name(name)
    if not norm or norm in NOT_NAMES or norm in STOPWORDS:
        return None
    return Mention(display_name(name), norm, kind)


def relations(sentence: str) -> list[Relation]:
    out: list[Relation] = []

    def add(subj: Mention | None, predicate: str, obj: Mention | None) -> None:
        if subj is not None and obj is not None and subj.normalized != obj.normalized:
            out.append(Relation(subj, _PREDICATE.get(predicate, predicate), obj))

    lowered = sentence.lower()  # cheap keyword checks first: most sentences hold no relation
    if "my " in lowered:
        for m in _EN_REL_KIN_MY.finditer(sentence):
            add(USER_MENTION, m.group(1).lower(), _party(m.group(2)))
        for m in _EN_REL_IS_MY.finditer(sentence):
            add(USER_MENTION, m.group(2).lower(), _party(m.group(1)))
    if "s " in lowered and " is " in lowered:
        for m in _EN_REL_IS_POSS.finditer(sentence):
            add(_party(m.group(2)), m.group(3).lower(), _party(m.group(1)))
    if "work" in lowered:
        for m in _EN_REL_WORKS.finditer(sentence):
            add(_party(m.group(1)), "works_at", _party(m.group(2), "org"))
    if "liv" in lowered or "moved" in lowered or "relocated" in lowered:
        for m in _EN_REL_LIVES.finditer(sentence):
            add(_party(m.group(1)), "lives_in", _party(m.group(2), "place"))
    return out
