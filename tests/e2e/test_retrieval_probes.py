"""The probes a new user tries first, through `memos dev` over HTTP: absolute scores (an off-topic
question finds nothing), facts from plain turns (a move replaces the old city, kept in history),
and extractive answers that quote the place or the date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.client import MemosClient
from infra.local.services import free_port
from tests.e2e.test_local_stack import KEY, start_dev, stop_dev

NOW = datetime.now(UTC)
TRAVEL = [
    ("I booked a flight to Lisbon for next month", 30),
    ("We stayed at a lovely hotel near the beach in Crete", 25),
    ("My passport expires in March 2027", 20),
    ("The train from Rome to Florence takes 90 minutes", 15),
    ("I want to visit Japan in the spring", 10),
    ("We rented a car in Iceland", 5),
    ("I went hiking in the Alps", 1),
]


def _at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


@pytest.mark.e2e
def test_probes_over_http(services, tmp_path):
    port = free_port()
    proc = start_dev(tmp_path / "data", services["redis_url"], port)
    try:
        client = MemosClient(f"http://127.0.0.1:{port}", KEY)
        items = [
            {"session_id": "trips", "role": "user", "text": text, "occurred_at": _at(days)}
            for text, days in TRAVEL
        ]
        assert client.ingest({"namespace": "travel", "items": items}).status == 200

        # An off-topic question: nothing is returned by default, and every candidate it saw is
        # explained with its (absolute) score under the threshold.
        off = client.query(
            {"namespace": "travel", "query": "quantum chromodynamics lattice gauge", "include_filtered": True}
        ).ok()
        assert off["results"] == []
        below = [f for f in off["filtered"] if f["reason"] == "below_threshold"]
        assert below and all(f["score"] is not None and f["score"] < 0.1 for f in below)

        # A relevant one still finds its memory first.
        passport = client.query({"namespace": "travel", "query": "When does my passport expire?"}).ok()
        assert passport["results"][0]["text"] == "My passport expires in March 2027"

        # The only memory from yesterday comes first for "yesterday".
        yesterday = client.query({"namespace": "travel", "query": "What did I do yesterday?"}).ok()
        assert yesterday["results"][0]["text"] == "I went hiking in the Alps"
        went = client.request(
            "POST", "/v1/answer", {"namespace": "travel", "question": "Where did I go yesterday?"}
        ).ok()
        assert "Alps" in went["answer"] and went["citations"] == [yesterday["results"][0]["memory_id"]]

        # "When" answers quote the date the memory occurred at when the turn states none.
        dentist_at = NOW - timedelta(days=3)
        client.ingest(
            {
                "namespace": "travel",
                "items": [
                    {
                        "session_id": "health",
                        "role": "user",
                        "text": "I went to the dentist for a checkup.",
                        "occurred_at": dentist_at.isoformat(),
                    }
                ],
            }
        ).ok()
        when = client.request(
            "POST", "/v1/answer", {"namespace": "travel", "question": "When did I go to the dentist?"}
        ).ok()
        assert "dentist" in when["answer"] and dentist_at.strftime("%B %Y") in when["answer"]
        assert str(dentist_at.day) in when["answer"] and len(when["citations"]) == 1

        # Facts from plain (episodic, default) turns: a move replaces the old city.
        paris = client.ingest(
            {
                "namespace": "me",
                "items": [
                    {"session_id": "s1", "role": "user", "text": "I live in Paris", "occurred_at": _at(40)}
                ],
            }
        ).ok()["memories"][0]
        berlin = client.ingest(
            {
                "namespace": "me",
                "items": [
                    {
                        "session_id": "s2",
                        "role": "user",
                        "text": "Actually I live in Berlin now",
                        "occurred_at": _at(2),
                    }
                ],
            }
        ).ok()["memories"][0]
        assert berlin["status"] == "superseded" and berlin["supersedes"] == paris["memory_id"]
        answer = client.request(
            "POST", "/v1/answer", {"namespace": "me", "question": "Where do I live?"}
        ).ok()
        assert "Berlin" in answer["answer"] and "Paris" not in answer["answer"]
        assert answer["citations"] == [berlin["memory_id"]]
        current = client.query(
            {"namespace": "me", "query": "Where do I live?", "include_filtered": True}
        ).ok()
        assert [r["text"] for r in current["results"]] == ["Actually I live in Berlin now"]
        assert {"memory_id": paris["memory_id"], "reason": "superseded", "score": None} in current["filtered"]
        history = client.request("GET", f"/v1/memories/{berlin['memory_id']}/history").ok()
        assert history["supersedes"] == [paris["memory_id"]]
        assert [(v["text"], v["status"]) for v in history["fact_history"]] == [
            ("I live in Paris", "superseded"),
            ("Actually I live in Berlin now", "active"),
        ]
        assert history["fact_history"][0]["valid_to"] == history["fact_history"][1]["valid_from"]
        # As of a month ago, Paris was where I lived.
        then = client.query({"namespace": "me", "query": "Where do I live?", "as_of": _at(30)}).ok()
        assert [r["text"] for r in then["results"]] == ["I live in Paris"]
        # A question about the past sees both values.
        both = client.query({"namespace": "me", "query": "Which cities have I lived in?"}).ok()
        assert {r["text"] for r in both["results"]} == {"I live in Paris", "Actually I live in Berlin now"}
    finally:
        stop_dev(proc)
