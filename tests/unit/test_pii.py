"""PII redaction: typed placeholders for emails, phones, cards and secrets; near misses stay as written."""

from __future__ import annotations

import json

import pytest

from memos.governance.pii import find, luhn_ok, redact, redact_json


def _only(text: str) -> tuple[str, str]:
    """(placeholder text, the one finding's type) for a text with exactly one finding."""
    out, findings = redact(text)
    assert len(findings) == 1, findings
    return out, findings[0]["type"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to ana.silva+memos@example.co.uk today", "write to [EMAIL] today"),
        ("Contact: J_Doe@mail.example.com.", "Contact: [EMAIL]."),
        ("<bob@corp.io>", "<[EMAIL]>"),
    ],
)
def test_emails_are_redacted(text, expected):
    assert _only(text) == (expected, "email")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call +44 20 7946 0958 tomorrow", "call [PHONE] tomorrow"),
        ("my cell is +1 (415) 555-2671.", "my cell is [PHONE]."),
        ("WhatsApp +8613812345678", "WhatsApp [PHONE]"),
        ("+49-30-901820", "[PHONE]"),
        ("office (212) 555-0123", "office [PHONE]"),
        ("office 212-555-0123, ext 4", "office [PHONE], ext 4"),
        ("office 212.555.0123", "office [PHONE]"),
        ("toll free 1-800-555-0199", "toll free [PHONE]"),
        ("my phone number: 650 253 0000", "my phone number: [PHONE]"),
    ],
)
def test_phone_numbers_are_redacted(text, expected):
    assert _only(text) == (expected, "phone")


@pytest.mark.parametrize(
    "text",
    [
        "the meeting is on 2024-03-01 at 10:30",
        "born in 1987, moved in 2015-2019",
        "order #1234567890 shipped",
        "order 415-555-2671 was refunded",  # an order number shaped like a phone
        "invoice no. 212-555-0123",
        "timestamp 2024-03-01T10:00:00+05:30",
        "version 1.2.3 and build 20240301",
        "the score was 3-2 and 7-5",
        "build 192.168.100.200.7",  # an IP address would be redacted as [IP]; this is a build number
        "room 555-0123",  # seven digits: no area code
        "call 123-456-7890",  # no North-American area code starts with 1
        "pi is 3.14159265358979",
        "+12 points",
        "temperature +3.5C",
        "ISBN 978-3-16-148410-0",
        "11/03/2024",
        "coordinates 40.712776, -74.005974",
    ],
)
def test_dates_years_ids_and_other_numbers_are_not_phones_or_cards(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("card 4111 1111 1111 1111 exp 12/27", "card [CARD] exp 12/27"),
        ("card 4111-1111-1111-1111", "card [CARD]"),
        ("5500005555555559", "[CARD]"),
        ("amex 3782 822463 10005", "amex [CARD]"),
        ("visa 4222222222222", "visa [CARD]"),  # 13 digits
    ],
)
def test_card_numbers_with_a_valid_checksum_are_redacted(text, expected):
    assert _only(text) == (expected, "card")


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "1111 1111 1111 1111 1111 1111",  # too long, no issuer digit
        "tracking 4111111111111111",  # an identifier, by its label
        "4111 1111-1111 1111",  # mixed separators
        "serial 0000 0000 0000 0000",
    ],
)
def test_near_miss_card_numbers_are_kept(text):
    assert redact(text)[1] == []


@pytest.mark.parametrize(
    "text, expected, rule",
    [
        ("key AKIAIOSFODNN7EXAMPLE in the env", "key [SECRET] in the env", "aws_access_key_id"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [SECRET]",
            "aws_secret_access_key",
        ),
        ("export OPENAI=sk-proj-abcdefghijklmnopqrstuvwx1234", "export OPENAI=[SECRET]", "api_token"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123", "[SECRET]", "api_token"),
        ("token ghp_" + "a1B2c3D4e5" * 4 + " leaked", "token [SECRET] leaked", "github_token"),
        ("slack xoxb-123456789012-abcdefghijkl", "slack [SECRET]", "slack_token"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def",
            "Authorization: Bearer [SECRET]",
            "bearer_token",
        ),
        ("password: hunter2!", "password: [SECRET]", "password"),
        ("PASSWORD=s3cr3t, then log in", "PASSWORD=[SECRET], then log in", "password"),
        ('password: "correct horse battery"', "password: [SECRET]", "password"),
        ("my password is Tr0ub4dor&3.", "my password is [SECRET].", "password"),
        ("我的密码是abc123，请记住", "我的密码是[SECRET]，请记住", "password"),
        ("密码：Zx9!pq", "密码：[SECRET]", "password"),
        ("api_key=0123456789abcdef", "api_key=[SECRET]", "labelled_secret"),
        ("use memos_1a2b3c4d_abcdefghijklmnopqrstuvwxyz012 here", "use [SECRET] here", "memos_key"),
    ],
)
def test_secrets_are_redacted(text, expected, rule):
    out, findings = redact(text)
    assert out == expected and [f["rule"] for f in findings] == [rule]
    assert findings[0]["type"] == "secret"


@pytest.mark.parametrize(
    "text",
    [
        "the password is required to log in",
        "she is the bearer of bad news",
        "Bearer responsibilities are listed below",
        "ask for the sk-1 form",
        "keep it secret: tell nobody",
        "AKIA is a prefix AWS uses",
        "the sketch-comedy show",
        "I forgot my 密码 again",
    ],
)
def test_prose_that_mentions_secrets_is_kept(text):
    assert redact(text) == (text, [])


def test_findings_carry_type_and_offsets_into_the_original_but_never_the_value():
    text = "mail a@b.io or call +44 20 7946 0958, card 4111111111111111, password: pa55word"
    out, findings = redact(text)
    assert out == "mail [EMAIL] or call [PHONE], card [CARD], password: [SECRET]"
    assert [f["type"] for f in findings] == ["email", "phone", "card", "secret"]
    assert [text[f["start"] : f["end"]] for f in findings] == [
        "a@b.io",
        "+44 20 7946 0958",
        "4111111111111111",
        "pa55word",
    ]
    dumped = json.dumps(findings)
    for value in ("a@b.io", "7946", "4111", "pa55word"):
        assert value not in dumped
    assert all(set(f) == {"type", "rule", "start", "end"} for f in findings)


def test_overlapping_matches_resolve_to_the_most_specific_one():
    # A labelled secret that is also a valid card number, or holds a phone-like run, is one secret.
    assert [f["type"] for f in find("password: 4111111111111111")] == ["secret"]
    assert [f["type"] for f in find("api_key=+4420794609581234")] == ["secret"]


def test_text_without_pii_is_returned_unchanged():
    text = "Ana prefers window seats and dislikes cilantro. Meeting moved to 2024-05-02."
    assert redact(text) == (text, [])
    assert redact("") == ("", [])


def test_redact_json_redacts_nested_strings_and_reports_their_paths():
    value = {"contact": {"emails": ["x@y.org", "none"]}, "n": 4111111111111111, "note": "+44 20 7946 0958"}
    out, findings = redact_json(value)
    assert out == {"contact": {"emails": ["[EMAIL]", "none"]}, "n": 4111111111111111, "note": "[PHONE]"}
    assert [(f["path"], f["type"]) for f in findings] == [
        ("$.contact.emails[0]", "email"),
        ("$.note", "phone"),
    ]


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112") and not luhn_ok("79927398710")
