"""HTTP edge cases of the local server, over a raw socket: every answer in the API's error shape,
percent-encoded path segments decoded, non-UTF-8 bodies refused, no thread stuck on a short body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Api, make_key
from tests.fault.local_http import Client, is_error_shape, local_server, raw_exchange


@pytest.fixture(scope="module")
def server(env: dict[str, Any]) -> Iterator[Any]:
    with local_server() as srv:
        yield srv


def _json(body: bytes) -> Any:
    return json.loads(body.decode())


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


def _memory_count(db_conn: Any, ns: str) -> int:
    return int(
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"]
    )


def test_a_percent_encoded_namespace_is_decoded_for_its_owner_and_refused_to_others(
    server: Any, api: Api, db_conn: Any
):
    ns = f"acme{uuid.uuid4().hex[:6]}:alice"
    status, _, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "alice likes tea"}
    )
    assert status == 200
    owner, stranger = make_key(["memory:read"], [ns]), make_key(["memory:read"], ["other*"])
    encoded = quote(ns, safe="")
    assert "%3A" in encoded
    client = Client(server)

    status, body, headers = client.call("GET", f"/v1/namespaces/{encoded}/export", key=owner)
    assert status == 200, body
    assert headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in body.splitlines()]
    assert any("alice likes tea" in json.dumps(line) for line in lines)

    status, body, _ = client.call("GET", f"/v1/namespaces/{encoded}/export", key=stranger)
    assert status in (403, 404) and is_error_shape(body)
    assert "alice likes tea" not in json.dumps(body)


def test_an_encoded_slash_stays_inside_its_segment_and_cannot_reach_another_route(
    server: Any, api: Api, admin_key: str, db_conn: Any
):
    ns = f"slash{uuid.uuid4().hex[:6]}"
    api.call("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "keep me"})
    # Decoded naively, this would be DELETE /v1/namespaces/<ns>/export (no such route) or a
    # delete of <ns>: it must name the (invalid) namespace "<ns>/x" and change nothing.
    status, body, _ = Client(server).call("DELETE", f"/v1/namespaces/{ns}%2Fx", key=admin_key)
    assert status == 404 and is_error_shape(body)
    assert _memory_count(db_conn, ns) == 1


def test_a_latin1_body_is_400_invalid_body_and_stores_nothing(server: Any, admin_key: str, db_conn: Any):
    ns = f"latin{uuid.uuid4().hex[:6]}"
    payload = json.dumps(
        {"namespace": ns, "session_id": "s", "role": "user", "text": "café crème"}, ensure_ascii=False
    ).encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        payload.decode("utf-8")
    status, headers, body = raw_exchange(
        server,
        _request(
            "POST",
            "/v1/ingest",
            {
                "Authorization": f"Bearer {admin_key}",
                "Content-Type": "application/json",
                "Content-Length": str(len(payload)),
            },
            payload,
        ),
    )
    assert status == 400
    assert _json(body)["error"]["code"] == "invalid_body" and is_error_shape(_json(body))
    assert headers.get("x-request-id")
    assert _memory_count(db_conn, ns) == 0


def test_the_same_body_in_utf8_is_stored_intact(server: Any, admin_key: str, db_conn: Any):
    """The control for the Latin-1 case: the refusal is about the encoding, not the text."""
    ns = f"utf{uuid.uuid4().hex[:6]}"
    status, body, _ = Client(server).call(
        "POST",
        "/v1/ingest",
        {"namespace": ns, "session_id": "s", "role": "user", "text": "café crème"},
        key=admin_key,
    )
    assert status == 200, body
    row = db_conn.execute("SELECT text FROM memories WHERE namespace = %s", (ns,)).fetchone()
    assert row["text"] == "café crème"


def test_an_unknown_method_answers_501_in_the_error_shape(server: Any, admin_key: str):
    status, headers, body = raw_exchange(
        server,
        _request(
            "QUERY",
            "/v1/memories?namespace=x",
            {"Authorization": f"Bearer {admin_key}", "Content-Length": "0"},
        ),
    )
    assert status == 501
    assert headers["content-type"] == "application/json"
    assert is_error_shape(_json(body)) and _json(body)["error"]["code"] == "not_implemented"
    assert headers.get("x-request-id")


def test_a_known_method_on_a_path_that_does_not_take_it_is_405_in_the_error_shape(
    server: Any, admin_key: str
):
    status, body, _ = Client(server).call("PUT", "/v1/ingest", {"x": 1}, key=admin_key)
    assert status == 405 and is_error_shape(body)


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * 70_000}, {f"X-H{i}": "v" for i in range(120)}],
    ids=["one header line too long", "too many headers"],
)
def test_oversized_request_headers_answer_431_in_the_error_shape(server: Any, headers: dict[str, str]):
    status, out_headers, body = raw_exchange(server, _request("GET", "/v1/health", headers))
    assert status == 431
    assert out_headers["content-type"] == "application/json"
    assert is_error_shape(_json(body)) and _json(body)["error"]["code"] == "headers_too_large"


def test_a_body_shorter_than_its_content_length_is_400_and_frees_the_thread(
    server: Any, admin_key: str, db_conn: Any
):
    ns = f"short{uuid.uuid4().hex[:6]}"
    payload = json.dumps({"namespace": ns, "session_id": "s", "role": "user", "text": "half"}).encode()
    request = _request(
        "POST",
        "/v1/ingest",
        {"Authorization": f"Bearer {admin_key}", "Content-Length": str(len(payload) + 100)},
        payload,
    )
    # The socket stays open and sends nothing more: the server's read timeout ends the wait.
    status, headers, body = raw_exchange(server, request)
    assert status == 400 and _json(body)["error"]["code"] == "invalid_body"
    assert headers.get("connection", "").lower() == "close"
    assert _memory_count(db_conn, ns) == 0
    assert Client(server).call("GET", "/v1/health")[0] in (200, 503)  # the server still answers


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        ("12abc", 400, "invalid_body"),
        ("-5", 400, "invalid_body"),
        (str(64 * 1024 * 1024), 413, "payload_too_large"),
    ],
)
def test_a_bad_or_oversized_content_length_is_refused_before_reading(
    server: Any, admin_key: str, length: str, status: int, code: str
):
    got, _, body = raw_exchange(
        server,
        _request("POST", "/v1/ingest", {"Authorization": f"Bearer {admin_key}", "Content-Length": length}),
    )
    assert got == status and _json(body)["error"]["code"] == code and is_error_shape(_json(body))
