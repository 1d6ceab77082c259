"""Well-formed but extreme input never gives a 5xx: time spans past datetime's range, and JSON
integers longer than Python converts (4,300 digits) anywhere a route parses a body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.routes import ROUTES
from memos.retrieval.timeexpr import parse_time_range

FAR_PAST = [
    "what did I say 10000 years ago",
    "3000000 days ago",
    "99999999999 weeks ago",
    "what happened " + "9" * 3500 + " months ago",  # within the 4,000-char query limit
]
HUGE = "1" + "0" * 5000  # a valid JSON number Python's json refuses to turn into an int


@pytest.mark.parametrize("text", [*FAR_PAST, "9" * 5000 + " days ago"])
def test_a_time_expression_past_the_calendar_names_no_range(text):
    assert parse_time_range(text, datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_a_long_but_representable_span_still_names_a_range():
    found = parse_time_range("what did I say 200 years ago", datetime(2026, 1, 1, tzinfo=UTC))
    assert found is not None and found.contains(datetime(1826, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("question", FAR_PAST)
@pytest.mark.parametrize("path", ["/v1/query", "/v1/answer", "/v1/answer/stream"])
def test_query_and_answer_with_a_far_past_expression_answer_200(api, ns, path, question):
    assert (
        api.call("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": "hi"})[0]
        == 200
    )
    field = "query" if path == "/v1/query" else "question"
    status, body, headers = api.call("POST", path, {"namespace": ns, field: question, "session_id": "s"})
    assert status == 200, body
    if path == "/v1/answer/stream":
        assert headers["content-type"].startswith("text/event-stream") and "event: done" in body


def _body_with_huge_int(ns: str, where: str) -> bytes:
    bodies = {
        "top_k": '{"namespace": "NS", "query": "q", "top_k": HUGE}',
        "policy": '{"namespace": "NS", "settings": {"l1_window_size": HUGE}}',
        "importance": '{"namespace": "NS", "session_id": "s", "role": "user", "text": "t", "importance": HUGE}',
    }
    return bodies[where].replace("NS", ns).replace("HUGE", HUGE).encode()


@pytest.mark.parametrize(
    ("method", "path", "where"),
    [("POST", "/v1/query", "top_k"), ("PUT", "/v1/policy", "policy"), ("POST", "/v1/ingest", "importance")],
)
def test_an_integer_over_4300_digits_is_a_400_in_the_error_shape(api, ns, db_conn, method, path, where):
    status, body, headers = api.call(method, path, raw=_body_with_huge_int(ns, where))
    assert status == 400, body
    assert body["error"]["code"] == "invalid_json" and "too long" in body["error"]["details"][0]["message"]
    assert headers["x-request-id"]
    assert (
        db_conn.execute("SELECT count(*) AS n FROM memories WHERE namespace = %s", (ns,)).fetchone()["n"] == 0
    )
    assert (
        db_conn.execute("SELECT count(*) AS n FROM policies WHERE namespace = %s", (ns,)).fetchone()["n"] == 0
    )


def test_no_route_that_takes_a_body_answers_5xx_to_a_huge_integer(api, ns):
    with_body = [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]
    assert with_body  # the route table names them
    for r in with_body:
        path = r.path.replace("{namespace}", ns).replace(
            "{memory_id}", "00000000-0000-4000-8000-000000000000"
        )
        path = path.replace("{key_id}", "00000000-0000-4000-8000-000000000000")
        status, body, _ = api.call(r.method, path, raw=f'{{"namespace": "{ns}", "n": {HUGE}}}'.encode())
        assert status < 500, (r.method, r.path, status, body)
