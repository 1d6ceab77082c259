"""Conflict keys: (subject, attribute) pairs that hold one value at a time.

"My phone number is 555-0100" and later "My phone number is 555-0199" share the key
``user|phone number``: the newer fact supersedes the older (which stays in history, valid from
its ``occurred_at`` until the newer one's). Statements that are not single-valued ("I like jazz")
get no key and never conflict.

Which memories get a key (``memory_fact_key``, the one hook ingest calls):
- semantic facts: any statement of the patterns below;
- episodic turns (the default kind): a user's turn of at most ``MAX_TURN_SENTENCES`` sentences
  where one sentence states a single-valued fact about the speaker — where they live ("I live in",
  "we moved to", "I've been living in", "just moved to <City>"), where or as what they work ("I
  work as", "I started a new job as", "I'll be working as", "I'm the new <job> at", "<org> hired
  me as", "I got a job at"), their age ("I'm 34", "I just turned 35"),
  or "my <attribute> is ..." (also "my new/current <attribute>") for an attribute in ``SINGLE_VALUED``
  or a favourite, or a plan in ``PLANS`` whose value names a date ("My flight is on May 3"). Discourse openers ("Actually", "Oh, and") and closers ("now",
  "these days") are ignored. Assistant and tool turns never state the user's facts.
The subject is the speaker (``metadata.speaker``) when there is one, so in a group chat one
person's move never supersedes another's.
"""

from __future__ import annotations

import re
from typing import Any

_PATTERNS: list[tuple[re.Pattern[str], str | None, str | None]] = [
    # (pattern, subject override, attribute override)
    (
        re.compile(
            r"^(?:my|our) (?P<attr>[a-z][a-z ]{1,40}?) (?:is|are|was|has become|changed to|is now|moved to) (?P<val>.+)$",
            re.I,
        ),
        "user",
        None,
    ),
    (
        re.compile(
            r"^(?P<subj>[A-Z][\w-]+(?: [A-Z][\w-]+)?)'s (?P<attr>[a-z][a-z ]{1,40}?) (?:is|are|was) (?P<val>.+)$"
        ),
        None,
        None,
    ),
    # "I live in", "we're based in", "I've been living in" (a household's "we" is the speaker's)
    (
        re.compile(
            r"^(?:i|we)(?:'m| am|'re| are|'ve been| have been)? (?:now |still )?(?:live|living|reside|based) in (?P<val>(?:the )?(?-i:[A-Z]).*)$",
            re.I,
        ),
        "user",
        "home city",
    ),
    (
        re.compile(
            r"^(?:i|we)(?:'ve| have)? (?:just |finally |recently |now )?(?:moved|relocated) to (?P<val>(?-i:[A-Z]).*)$"
            r"|^(?:i|we)(?:'ve| have)? (?:just |finally |recently )?moved into (?:a|an|the|my|our) (?:new )?"
            r"(?:place|flat|apartment|house|home|condo) in (?P<val2>(?-i:[A-Z]).*)$",
            re.I,
        ),
        "user",
        "home city",
    ),
    (
        re.compile(r"^(?:[Jj]ust |[Ff]inally )?[Mm]oved to (?P<val>[A-Z].*)$"),
        "user",
        "home city",
    ),  # no subject
    (
        re.compile(r"^i (?:now )?(?:work|am working|started working) (?:at|for) (?P<val>.+)$", re.I),
        "user",
        "employer",
    ),
    (re.compile(r"^i(?:'m| am) (?:now )?working (?:at|for) (?P<val>.+)$", re.I), "user", "employer"),
    (re.compile(r"^i (?:now )?work as (?:an? )?(?P<val>.+)$", re.I), "user", "job"),
    # a new job: "Starting Monday I'll be working as a nurse", "I'm the new data analyst at Acme",
    # "Acme hired me as a nurse"
    (
        re.compile(
            r"^(?:(?:starting|from|as of|beginning) (?:on )?\w+,? )?i(?:'ll| will) be working as (?:an? )?(?P<val>.+)$"
            r"|^i(?:'m| am) the new (?!(?:guy|girl|kid|member|person|one|face|neighbou?r)\b)(?P<val2>[\w -]+?) (?:at|for|with) .+$"
            r"|^.{1,60}? (?:just )?hired me as (?:an? )?(?P<val3>.+)$",
            re.I,
        ),
        "user",
        "job",
    ),
    (re.compile(r"^i(?:'m| am) (?:now )?working as (?:an? )?(?P<val>.+)$", re.I), "user", "job"),
    (
        re.compile(
            r"^i(?:'ve| have)? (?:just )?(?:started|began|got|landed|took|accepted) (?:a |my )?(?:new )?"
            r"(?:job|position|role) as (?:an? )?(?P<val>.+)$|^i (?:just )?started working as (?:an? )?(?P<val2>.+)$",
            re.I,
        ),
        "user",
        "job",
    ),
    (
        re.compile(
            r"^i(?:'ve| have)? (?:just )?(?:got|landed|started|accepted|took) (?:a |my )?(?:new )?"
            r"(?:job|position|role|internship) (?:at|with) (?P<val>.+)$",
            re.I,
        ),
        "user",
        "employer",
    ),
    (
        re.compile(r"^i(?:'m| am) (?P<val>\d{1,3})(?: years old| years of age)?(?:$|\s*[,;])", re.I),
        "user",
        "age",
    ),
    (re.compile(r"^i (?:just )?turned (?P<val>\d{1,3})\b", re.I), "user", "age"),
    (
        re.compile(r"^(?P<subj>[A-Z][\w-]+) (?:now )?(?:lives|moved) (?:in|to) (?P<val>.+)$"),
        None,
        "home city",
    ),
    (re.compile(r"^(?P<subj>[A-Z][\w-]+) (?:now )?works (?:at|for) (?P<val>.+)$"), None, "employer"),
    (re.compile(r"^我(?:现在)?住在(?P<val>.+)$"), "user", "home city"),
    (re.compile(r"^我(?:现在)?在(?P<val>.+?)工作"), "user", "employer"),
    (re.compile(r"^我的(?P<attr>.{1,10}?)是(?P<val>.+)$"), "user", None),
]
_FAVORITE = re.compile(r"^favou?rite ")
_CURRENT = re.compile(r"^(?:new|current|present|latest|updated) ")  # "my new address is" states the address
# "my X is ..." in a turn is a single-valued fact only for these (and any favourite): "my sister is
# visiting" must not replace "my sister is a nurse".
SINGLE_VALUED = frozenset(
    {
        "name",
        "job",
        "job title",
        "title",
        "role",
        "employer",
        "company",
        "manager",
        "boss",
        "address",
        "home address",
        "home city",
        "hometown",
        "home town",
        "city",
        "phone number",
        "email",
        "email address",
        "birthday",
        "age",
        "salary",
        "budget",
        "diet",
    }
)
# Plans hold one date at a time: a key only when the value names when ("My flight is on May 3"),
# not for "My flight is delayed" or "My trip was amazing".
PLANS = frozenset(
    {
        "deadline",
        "flight",
        "appointment",
        "dentist appointment",
        "doctor appointment",
        "wedding",
        "trip",
        "move",
    }
    | {"start date", "wedding date", "interview", "exam", "surgery", "party"}
)
_WHEN = re.compile(
    r"\d|\b(?:today|tomorrow|tonight|next|this|on|in (?:early |late )?(?:january|february|march|april|may|june|"
    r"july|august|september|october|november|december)|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.I,
)
MAX_TURN_SENTENCES = 2
_OPENER = re.compile(
    r"^(?:(?:actually|so|well|oh|ok|okay|anyway|also|and|btw|by the way|guess what|update|news|fyi|"
    r"just so you know|quick update|correction|these days|nowadays|now|since then|"
    r"(?:big |good |great )?news(?: from me)?|i just signed the contract)[,:!-]?\s+)+",
    re.I,
)
_CLOSER = re.compile(r"[,]?\s+(?:now|these days|nowadays|at the moment|currently|instead)$", re.I)
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def fact_key(text: str) -> str | None:
    """``subject|attribute`` for a single-valued statement, else None (subject ``user`` for "I")."""
    found = _match(text.strip().rstrip(".!。！").strip())
    return f"{found[0]}|{found[1]}" if found else None


def _match(sentence: str) -> tuple[str, str, str] | None:
    for pattern, subject, attribute in _PATTERNS:
        m = pattern.match(sentence)
        if not m:
            continue
        groups = m.groupdict()
        subj = (subject or groups.get("subj") or "").lower()
        attr = _CURRENT.sub("", (attribute or groups.get("attr") or "").lower().strip())
        attr = _FAVORITE.sub("favorite ", attr)
        value = groups.get("val") or groups.get("val2") or groups.get("val3")
        if subj and attr and value:
            return subj, attr, str(value)
    return None


def turn_fact_key(text: str) -> str | None:
    """The key of the one single-valued fact a short conversational turn states about its speaker."""
    sentences = [s for s in (x.strip() for x in _SENTENCES.split(text.strip())) if s]
    if not sentences or len(sentences) > MAX_TURN_SENTENCES:
        return None
    keys = set()
    for sentence in sentences:
        core = _CLOSER.sub("", _OPENER.sub("", sentence.rstrip(".!。！").strip())).strip()
        found = _match(core)
        if found is None or found[0] != "user":
            continue
        _, attr, value = found
        if attr in SINGLE_VALUED or attr.startswith("favorite ") or (attr in PLANS and _WHEN.search(value)):
            keys.add(attr)
    return f"user|{keys.pop()}" if len(keys) == 1 else None


def memory_fact_key(text: str, kind: str, role: str, metadata: dict[str, Any] | None) -> str | None:
    """The conflict key ingest stores for a memory (None: it conflicts with nothing)."""
    if kind == "semantic":
        key = fact_key(text)
    elif kind == "episodic" and role == "user":
        key = turn_fact_key(text)
    else:
        return None
    speaker = (metadata or {}).get("speaker")
    if key and key.startswith("user|") and isinstance(speaker, str) and speaker.strip():
        key = f"{speaker.strip().lower()}|{key[5:]}"
    return key


# What a single-valued fact is about, in the words questions use for it: "Where do I live?" asks
# about "We moved to Porto" (key ``user|home city``) without sharing a word with it. Scoring counts
# these words among the memory's terms (``memos.retrieval.scoring``); any other attribute is its
# own words ("flight", "phone number").
_HOME = "live lives living city town home hometown based"
_WORK = "work works working job employer company"
KEY_WORDS = {
    "home city": _HOME,
    "hometown": _HOME,
    "home town": _HOME,
    "city": _HOME,
    "address": "address live lives living home",
    "home address": "address live lives living home",
    "job": "job work works working occupation profession career",
    "job title": "job title work works",
    "title": "job title work works",
    "role": "job role work works",
    "employer": _WORK,
    "company": _WORK,
    "age": "age old years",
    "birthday": "birthday born",
    "name": "name called",
    "diet": "diet eat eats",
}


def key_words(key: str | None, asked: set[str] | None = None) -> str:
    """The words a question about the fact with conflict key ``key`` uses ("" for no key). With
    ``asked`` (the question's lowercased words), only for a fact about the user or about someone
    the question names: "Where does Jonas live?" is not about Umar's move."""
    if not key:
        return ""
    subject, _, attribute = key.partition("|")
    if asked is not None and subject != "user" and not set(subject.split()) <= asked:
        return ""
    if attribute.startswith("favorite "):  # "What food do I love?" asks about "favorite food"
        return f"{attribute} favourite love loves like likes prefer"
    return KEY_WORDS.get(attribute, attribute)
