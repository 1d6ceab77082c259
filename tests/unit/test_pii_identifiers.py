"""PII redaction of identifiers: national ids (US SSN, UK NINO, Chinese resident id), IBAN, IP
addresses and Chinese mobile numbers, in English and Chinese text; near misses stay as written."""

from __future__ import annotations

import pytest

from memos.governance.pii import cn_resident_id_ok, iban_ok, redact, redact_json


def _only(text: str) -> tuple[str, str, str]:
    out, findings = redact(text)
    assert len(findings) == 1, findings
    return out, findings[0]["type"], findings[0]["rule"]


@pytest.mark.parametrize(
    "text, expected, rule",
    [
        ("my SSN is 123-45-6789.", "my SSN is [ID].", "us_ssn"),
        ("社保号 078-05-1120 已登记", "社保号 [ID] 已登记", "us_ssn"),
        ("NI number AB 12 34 56 C on file", "NI number [ID] on file", "uk_nino"),
        ("nino: JG103759A", "nino: [ID]", "uk_nino"),
        ("身份证号11010519491231002X，请保密", "身份证号[ID]，请保密", "cn_resident_id"),
        ("ID 440308199901011234 verified", "ID [ID] verified", "cn_resident_id"),
    ],
)
def test_national_ids_are_redacted(text, expected, rule):
    assert _only(text) == (expected, "national_id", rule)


@pytest.mark.parametrize(
    "text",
    [
        "area 000-12-3456 is never issued",
        "666-12-3456 and 900-12-3456 are not SSNs",
        "group 123-00-4567 and serial 123-45-0000 are not either",
        "meeting on 2024-01-15, room 12-34",
        "part 123-45-67890 is longer",
        "GB 12 34 56 C and QQ 12 34 56 C are not issued prefixes",
        "AB 12 34 56 E has no valid suffix",
        "身份证号110105194912310021 的校验位不对",
        "order 110105194913310021 has no such month",
        "tracking 1101051949123100211 is 19 digits",
    ],
)
def test_near_miss_national_ids_are_kept(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pay to GB82 WEST 1234 5698 7654 32 by Friday", "pay to [IBAN] by Friday"),
        ("IBAN DE89370400440532013000.", "IBAN [IBAN]."),
        ("账户FR1420041010050500013M02606已开通", "账户[IBAN]已开通"),
    ],
)
def test_ibans_with_a_valid_checksum_are_redacted(text, expected):
    assert _only(text)[:2] == (expected, "iban")


@pytest.mark.parametrize(
    "text",
    [
        "GB82 WEST 1234 5698 7654 33 fails the checksum",
        "model DE89 is a short code",
        "SKU AB12CDEF34567890 is not an IBAN",
    ],
)
def test_near_miss_ibans_are_kept(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the server is at 192.168.1.20 now", "the server is at [IP] now"),
        ("服务器地址是10.0.0.5。", "服务器地址是[IP]。"),
        ("ssh to 2001:db8::8a2e:370:7334 please", "ssh to [IP] please"),
        ("link-local fe80::1ff:fe23:4567:890a.", "link-local [IP]."),
    ],
)
def test_ip_addresses_are_redacted(text, expected):
    assert _only(text)[:2] == (expected, "ip")


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3 shipped",
        "999.1.1.1 is not an address",
        "release 1.2.3.4.5 is a build number",
        "pi is 3.14 and the meeting is at 10:30:00",
        "MAC 00:1A:2B:3C:4D:5E is a hardware address",
        "use std::vector in C++",
    ],
)
def test_near_miss_ip_addresses_are_kept(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的手机号是13812345678，有事打给我", "我的手机号是[PHONE]，有事打给我"),
        ("手机：138 1234 5678", "手机：[PHONE]"),
        ("call 86-159-1234-5678 tonight", "call [PHONE] tonight"),
    ],
)
def test_chinese_mobile_numbers_are_redacted(text, expected):
    assert _only(text)[:2] == (expected, "phone")


@pytest.mark.parametrize(
    "text",
    [
        "编号12812345678不是手机号",
        "订单号138123456789有十二位",
        "2023年10月1日出发",
    ],
)
def test_near_miss_chinese_numbers_are_kept(text):
    assert redact(text) == (text, [])


def test_metadata_values_of_every_kind_are_redacted_with_paths():
    out, findings = redact_json({"ip": "10.1.2.3", "ids": ["123-45-6789"], "n": 7, "note": "fine"})
    assert out == {"ip": "[IP]", "ids": ["[ID]"], "n": 7, "note": "fine"}
    assert sorted(f["path"] for f in findings) == ["$.ids[0]", "$.ip"]


def test_checksums():
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    assert cn_resident_id_ok("11010519491231002X") and not cn_resident_id_ok("110105194912310021")
