"""Conflict keys for semantic facts: (subject, attribute) pairs that hold one value at a time.

"My phone number is 555-0100" and later "My phone number is 555-0199" share the key
``user|phone number``: the newer fact supersedes the older (which stays in history). Statements
that are not single-valued ("I like jazz") get no key and never conflict.
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[re.Pattern[str], str | None, str | None]] = [
    # (pattern, subject override, attribute override)
    (
        re.compile(
            r"^(?:my|our) (?P<attr>[a-z][a-z ]{1,40}?) (?:is|are|was|has become|changed to) (?P<val>.+)$",
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
    (re.compile(r"^i (?:now )?(?:live|am living|reside) in (?P<val>.+)$", re.I), "user", "home city"),
    (re.compile(r"^i (?:have )?moved to (?P<val>.+)$", re.I), "user", "home city"),
    (re.compile(r"^i (?:now )?work (?:at|for) (?P<val>.+)$", re.I), "user", "employer"),
    (re.compile(r"^i am (?P<val>\d{1,3}) years old", re.I), "user", "age"),
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


def fact_key(text: str) -> str | None:
    """``subject|attribute`` for a single-valued statement, else None."""
    sentence = text.strip().rstrip(".!。！").strip()
    for pattern, subject, attribute in _PATTERNS:
        m = pattern.match(sentence)
        if not m:
            continue
        groups = m.groupdict()
        subj = (subject or groups.get("subj") or "").lower()
        attr = (attribute or groups.get("attr") or "").lower().strip()
        attr = _FAVORITE.sub("favorite ", attr)
        if subj and attr and groups.get("val"):
            return f"{subj}|{attr}"
    return None
