"""PII redaction for free text: emails, phone numbers, payment cards and secrets become placeholders.

``redact(text)`` returns the text with each finding replaced by ``[EMAIL]``, ``[PHONE]``,
``[CARD]`` or ``[SECRET]`` and a list of findings ``{type, rule, start, end}`` (offsets in the
original text; never the value itself), so the caller can audit *that* something was redacted
without storing *what*.

The rules are conservative on purpose: a memory with a date, a year or an order number
mangled into ``[PHONE]`` loses meaning for good, while a missed phone number is still governed
by the namespace's grants, TTLs and deletes. So phone numbers need a ``+`` country code or the
punctuated North-American shape with valid area/exchange codes, card numbers need a plausible
issuer digit and a valid Luhn checksum, and labelled secrets need their label.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "secret": "[SECRET]"}
# When two findings overlap, the more specific one wins: a token may contain digits or an "@".
_PRIORITY = {"secret": 0, "email": 1, "card": 2, "phone": 3}


@dataclass(frozen=True)
class _Rule:
    type: str
    name: str
    pattern: re.Pattern[str]
    group: int = 0  # the part to redact (labelled secrets keep their label)


_VALUE_END = ".,;:)]}\"'"  # sentence punctuation after a labelled value

_RULES: tuple[_Rule, ...] = (
    # --- secrets with a recognisable shape ---
    _Rule(
        "secret",
        "private_key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
    ),
    _Rule(
        "secret",
        "aws_access_key_id",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b"),
    ),
    _Rule(
        "secret",
        "aws_secret_access_key",
        re.compile(
            r"(?i)\baws_?secret_?(?:access_?)?key\b[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        1,
    ),
    _Rule("secret", "api_token", re.compile(r"(?<![\w-])sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{20,}")),
    _Rule("secret", "stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Rule(
        "secret", "github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")
    ),
    _Rule("secret", "slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    _Rule("secret", "google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    _Rule("secret", "memos_key", re.compile(r"\bmemos_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")),
    _Rule("secret", "jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    # A bearer token needs a digit or a symbol, so "bearer responsibilities" stays prose.
    _Rule(
        "secret",
        "bearer_token",
        re.compile(r"(?i)\bbearer\s+((?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{16,})"),
        1,
    ),
    # --- labelled secrets: the value after "password:", "api_key=", "密码是" ---
    _Rule(
        "secret",
        "password",
        re.compile(
            r"(?i)\b(?:password|passwd|passphrase|pwd|pin)\b\s*[:=]\s*(\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'|\S{1,200})"
        ),
        1,
    ),
    # "my password is hunter2": only a value with a digit or symbol, so "password is required" stays.
    _Rule(
        "secret",
        "password",
        re.compile(r"(?i)\b(?:password|passwd|passphrase)\s+is\s+((?=\S*[0-9!#$%&*+/=?^_~@-])\S{4,200})"),
        1,
    ),
    _Rule(
        "secret",
        "labelled_secret",
        re.compile(
            r"(?i)\b(?:api[_-]?key|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?token|auth[_-]?token|token)"
            r"\b[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9._~+/=-]{8,})"
        ),
        1,
    ),
    _Rule("secret", "password", re.compile(r"(?:密码|口令|密碼)\s*(?:[:：=]|是|为|為)\s*([!-~]{1,200})"), 1),
    # --- contact details ---
    _Rule(
        "email",
        "email",
        re.compile(
            r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
        ),
    ),
    _Rule(
        "card",
        "card",
        re.compile(r"(?<![\d.,/-])[2-6]\d{3}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,4})?(?![\d/-]|[.,]\d)"),
    ),
    # International: +, a country code, then 7–14 more digits in groups (E.164 allows 15 in all).
    _Rule(
        "phone",
        "phone_international",
        re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w-]|[.,]\d)"),
    ),
    # North America: (212) 555-0123, 212-555-0123, 212.555.0123, 1-800-555-0123 — always punctuated.
    _Rule(
        "phone",
        "phone_us",
        re.compile(
            r"(?<![\w+.-])(?:1[ .-])?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w-]|[.,]\d)"
        ),
    ),
)

# Words that make a number an identifier rather than a phone or card number.
_ID_CONTEXT = re.compile(
    r"(?i)(?:\border|\binvoice|\bticket|\bref(?:erence)?|\btracking|\baccount|\bacct|\bid|#|\bsku|\bserial|\bisbn)"
    r"\s*(?:number|no\.?)?\s*[:#]?\s*$"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _plausible(rule: _Rule, text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if rule.type == "card":
        digits = re.sub(r"[ -]", "", value)
        if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
            return False
        separators = set(re.findall(r"[ -]", value))
        if len(separators) > 1:  # "4111 1111-1111 1111" is not how anyone writes a card
            return False
        return not _ID_CONTEXT.search(text[max(0, start - 24) : start])
    if rule.type == "phone":
        digits = re.sub(r"\D", "", value)
        if not 8 <= len(digits) <= 15:
            return False
        if value.count("(") != value.count(")"):
            return False
        return not _ID_CONTEXT.search(text[max(0, start - 24) : start])
    return True


def _candidates(text: str) -> Iterator[tuple[int, int, _Rule]]:
    for rule in _RULES:
        for m in rule.pattern.finditer(text):
            start, end = m.span(rule.group)
            if rule.group and rule.type == "secret":
                while end > start + 1 and text[end - 1] in _VALUE_END and text[start] not in "\"'":
                    end -= 1
            if start < end and _plausible(rule, text, start, end):
                yield start, end, rule


def find(text: str) -> list[dict[str, Any]]:
    """Non-overlapping findings in text order: ``{type, rule, start, end}``; no values."""
    starts: list[int] = []  # accepted spans, kept sorted and disjoint
    taken: list[tuple[int, int, _Rule]] = []
    ordered = sorted(_candidates(text), key=lambda c: (_PRIORITY[c[2].type], c[0], -(c[1] - c[0])))
    for start, end, rule in ordered:
        i = bisect.bisect_right(starts, start)
        if (i == 0 or taken[i - 1][1] <= start) and (i == len(taken) or end <= taken[i][0]):
            starts.insert(i, start)
            taken.insert(i, (start, end, rule))
    return [{"type": r.type, "rule": r.name, "start": s, "end": e} for s, e, r in taken]


def redact(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text with each finding replaced by its placeholder, and the findings."""
    findings = find(text)
    if not findings:
        return text, []
    parts, pos = [], 0
    for f in findings:
        parts.append(text[pos : f["start"]])
        parts.append(PLACEHOLDERS[f["type"]])
        pos = f["end"]
    parts.append(text[pos:])
    return "".join(parts), findings


def redact_json(value: Any, path: str = "$") -> tuple[Any, list[dict[str, Any]]]:
    """Redact every string inside a JSON value (e.g. metadata); findings carry a JSON ``path``."""
    if isinstance(value, str):
        out, findings = redact(value)
        return out, [{**f, "path": path} for f in findings]
    if isinstance(value, dict):
        result, found = {}, []
        for k, v in value.items():
            result[k], sub = redact_json(v, f"{path}.{k}")
            found += sub
        return result, found
    if isinstance(value, list):
        items, found = [], []
        for i, v in enumerate(value):
            item, sub = redact_json(v, f"{path}[{i}]")
            items.append(item)
            found += sub
        return items, found
    return value, []
