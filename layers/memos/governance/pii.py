"""PII redaction for free text and metadata: emails, phone numbers (international, North American,
Chinese mobile), payment cards, IBANs, national ids (US SSN, UK National Insurance number, Chinese
resident id), IP addresses (v4 and v6) and secrets become placeholders.

``redact(text)`` returns the text with each finding replaced by ``[EMAIL]``, ``[PHONE]``,
``[CARD]``, ``[IBAN]``, ``[ID]``, ``[IP]`` or ``[SECRET]`` and a list of findings ``{type, rule,
start, end}`` (offsets in the original text; never the value itself), so the caller can audit
*that* something was redacted without storing *what*. ``redact_json`` does the same for every
string inside a JSON value (metadata). The full list is in docs/SECURITY.md.

The rules are conservative on purpose: a memory with a date, a year or an order number
mangled into ``[PHONE]`` loses meaning for good, while a missed phone number is still governed
by the namespace's grants, TTLs and deletes. So phone numbers need a ``+`` country code or the
punctuated North-American shape with valid area/exchange codes, card numbers need a plausible
issuer digit and a valid Luhn checksum, IBANs their mod-97 checksum, Chinese resident ids their
ISO 7064 check character, IP addresses a valid address, and labelled secrets need their label.
Digit rules look at neighbouring digits rather than word boundaries, so they hold inside Chinese
text (which has no spaces).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "national_id": "[ID]",
    "ip": "[IP]",
    "secret": "[SECRET]",
}
# When two findings overlap, the more specific one wins: a token may contain digits or an "@".
_PRIORITY = {"secret": 0, "email": 1, "national_id": 2, "iban": 3, "card": 4, "ip": 5, "phone": 6}


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

_IDENTIFIERS: tuple[_Rule, ...] = (
    # US Social Security number, dashed; area 000, 666 and 9xx, group 00 and serial 0000 are never issued.
    _Rule(
        "national_id",
        "us_ssn",
        re.compile(r"(?<![\d-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"),
    ),
    # UK National Insurance number: two letters (not D, F, I, Q, U, V; second not O), six digits, A-D.
    _Rule(
        "national_id",
        "uk_nino",
        re.compile(
            r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
        ),
    ),
    # Chinese resident identity card: 6-digit region, birth date 19xx/20xx, 3 digits, check digit or X.
    _Rule(
        "national_id",
        "cn_resident_id",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
        ),
    ),
    # IBAN: country, 2 check digits, 11-30 more letters or digits (print groups of 4 allowed).
    _Rule("iban", "iban", re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")),
    _Rule(
        "ip",
        "ipv4",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]|\.\d)"
        ),
    ),
    _Rule(
        "ip",
        "ipv6",
        re.compile(r"(?<![0-9A-Fa-f:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{2,39}(?![0-9A-Fa-f:])"),
    ),
    # Chinese mobile: 1[3-9] and 9 more digits (optionally +86 / 86, grouped 3-4-4).
    _Rule("phone", "phone_cn", re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")),
)
_RULES = _RULES + _IDENTIFIERS

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


def iban_ok(value: str) -> bool:
    """ISO 13616: 15-34 characters, and the number (country and check digits moved to the end,
    letters as 10-35) is 1 modulo 97."""
    code = value.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_resident_id_ok(value: str) -> bool:
    """GB 11643: the 18th character is the ISO 7064 MOD 11-2 check of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(value[:17], _CN_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17].upper()


def _ip_ok(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # "::" or "1::" alone are more likely code or prose than an address.
    return address.version == 4 or len(value.replace(":", "")) >= 4


def _plausible(rule: _Rule, text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if rule.name == "iban":
        return iban_ok(value)
    if rule.name == "cn_resident_id":
        return cn_resident_id_ok(value)
    if rule.type == "ip":
        return _ip_ok(value)
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
