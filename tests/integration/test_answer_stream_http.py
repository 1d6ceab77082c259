"""POST /v1/answer/stream over real HTTP on the local server: events leave as they are produced.

The answer model is a stand-in for bedrock-runtime's ConverseStream (botocore's Stubber cannot
stub an event stream) that hands out one text piece each time the test opens a gate. The test
reads ``context`` while the model has produced nothing, and each ``delta`` before it lets the
model produce the next piece: a buffered response could not be read before every gate opened
(the stand-in would wait its 10 s out, and the test says so).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.services import env_override

PIECES = ["You moved ", "to Lisbon ", "in 2021."]


class GatedConverseStream:
    """bedrock-runtime's ``converse_stream``: one content delta per gate the test opens."""

    def __init__(self, pieces: list[str], fail_after: int | None = None) -> None:
        self.pieces = pieces
        self.gates = [threading.Event() for _ in pieces]
        self.fail_after = fail_after
        self.waited_out = False
        self.requests: list[dict[str, Any]] = []

    def converse_stream(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"stream": self._events()}

    def _events(self) -> Iterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        for i, (gate, piece) in enumerate(zip(self.gates, self.pieces, strict=True)):
            if not gate.wait(10):
                self.waited_out = True
            if self.fail_after == i:
                raise ConnectionResetError("the model's connection dropped")
            yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": piece}}}
        yield {"messageStop": {"stopReason": "end_turn"}}


@pytest.fixture
def server(env: dict[str, Any]) -> Iterator[Any]:
    from infra.local.server import LocalServer

    srv = LocalServer("127.0.0.1", 0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedConverseStream]:
    fake = GatedConverseStream(PIECES)
    real = boto3.client
    monkeypatch.setattr(
        boto3, "client", lambda service, **kw: fake if service == "bedrock-runtime" else real(service, **kw)
    )
    with env_override(MEMOS_ANSWER_MODE="bedrock"):
        yield fake
    for gate in fake.gates:  # never leave the server thread waiting
        gate.set()


def seed(api: Any, ns: str) -> list[str]:
    items = [
        {"session_id": "s", "role": "user", "text": "We moved to Lisbon in 2021. The flat has a balcony."},
        {"session_id": "s", "role": "user", "text": "My daughter Inês starts school in September."},
    ]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def open_stream(server: Any, key: str, body: dict[str, Any]) -> tuple[Any, http.client.HTTPResponse]:
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request(
        "POST",
        "/v1/answer/stream",
        body=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    return conn, conn.getresponse()


def next_event(resp: http.client.HTTPResponse) -> tuple[str, dict[str, Any]]:
    """Read one event off the wire (lines up to the blank line that ends it)."""
    name, data = "message", []
    while True:
        line = resp.readline().decode()
        assert line, "the stream ended before the event did"
        line = line.rstrip("\r\n")
        if line == "":
            if data:
                return name, json.loads("\n".join(data))
            continue
        field, _, value = line.partition(": ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


def test_each_event_reaches_the_client_before_the_next_piece_of_the_answer_exists(
    api: Any, ns: str, admin_key: str, server: Any, model: GatedConverseStream
) -> None:
    ids = seed(api, ns)
    conn, resp = open_stream(server, admin_key, {"namespace": ns, "question": "When did we move to Lisbon?"})
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type", "").startswith("text/event-stream")
        assert resp.getheader("Transfer-Encoding") == "chunked" and resp.getheader("Content-Length") is None
        assert resp.getheader("x-request-id")

        name, context = next_event(resp)
        assert name == "context"
        assert not any(g.is_set() for g in model.gates)  # the model has produced no text yet
        assert ids[0] in context["results"] and context["context_pack_id"]

        for i, piece in enumerate(PIECES):
            model.gates[i].set()
            name, delta = next_event(resp)
            assert (name, delta) == ("delta", {"text": piece})
            assert not any(g.is_set() for g in model.gates[i + 1 :])  # read before the next piece exists

        name, done = next_event(resp)
        assert name == "done"
        assert done["answer"] == "".join(PIECES) and done["mode"] == "llm"
        assert ids[0] in done["citations"] and done["context_pack_id"] == context["context_pack_id"]
        assert resp.read() == b""  # the chunked body ends after done
    finally:
        conn.close()
    assert not model.waited_out
    assert "When did we move to Lisbon?" in model.requests[0]["messages"][0]["content"][0]["text"]


def test_a_model_failure_after_the_context_event_ends_the_stream_with_an_error_event(
    api: Any, ns: str, admin_key: str, server: Any, model: GatedConverseStream
) -> None:
    seed(api, ns)
    model.fail_after = 1
    conn, resp = open_stream(server, admin_key, {"namespace": ns, "question": "When did we move to Lisbon?"})
    try:
        assert next_event(resp)[0] == "context"
        model.gates[0].set()
        assert next_event(resp) == ("delta", {"text": PIECES[0]})
        model.gates[1].set()
        name, err = next_event(resp)
        assert name == "error"
        assert err["error"]["code"] == "dependency_unavailable" and "Bedrock" in err["error"]["message"]
        assert resp.read() == b""  # no done after an error
    finally:
        conn.close()


def test_extractive_answers_stream_a_sentence_per_delta_over_http(
    api: Any, ns: str, admin_key: str, server: Any
) -> None:
    seed(api, ns)
    conn, resp = open_stream(server, admin_key, {"namespace": ns, "question": "When did we move to Lisbon?"})
    try:
        assert resp.getheader("Transfer-Encoding") == "chunked"
        events = [next_event(resp)]
        while events[-1][0] != "done":
            events.append(next_event(resp))
    finally:
        conn.close()
    names = [n for n, _ in events]
    assert names[0] == "context" and names[-1] == "done" and names.count("delta") >= 1
    deltas = [d["text"] for n, d in events if n == "delta"]
    assert "".join(deltas) == events[-1][1]["answer"] and events[-1][1]["mode"] == "extractive"
    assert "We moved to Lisbon in 2021." in deltas[0]


def test_refusals_before_the_stream_starts_are_ordinary_json_errors(
    api: Any, ns: str, server: Any, env: dict[str, Any]
) -> None:
    from tests.conftest import make_key

    other = make_key(["memory:read"], [f"{ns}-other"])
    conn, resp = open_stream(server, other, {"namespace": ns, "question": "Lisbon?"})
    try:
        assert resp.status == 403 and resp.getheader("Content-Type") == "application/json"
        assert json.loads(resp.read())["error"]["code"] == "forbidden"
    finally:
        conn.close()
