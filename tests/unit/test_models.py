import pydantic
import pytest

from memos.models import IngestRequest, QueryRequest


def test_single_memory_becomes_one_item_with_defaults():
    req = IngestRequest.model_validate(
        {"namespace": "acme", "session_id": "s1", "role": "user", "text": "hi"}
    )
    items = req.as_items()
    assert len(items) == 1
    assert items[0].kind == "episodic" and items[0].session_id == "s1"


def test_batch_keeps_item_order():
    req = IngestRequest.model_validate(
        {
            "namespace": "acme",
            "items": [{"session_id": "s1", "role": "user", "text": f"turn {i}"} for i in range(5)],
        }
    )
    assert [i.text for i in req.as_items()] == [f"turn {i}" for i in range(5)]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"namespace": "acme", "role": "user", "text": "hi"}, "session_id"),
        ({"namespace": "acme", "session_id": "s", "role": "robot", "text": "hi"}, "role"),
        ({"namespace": "-bad", "session_id": "s", "role": "user", "text": "hi"}, "namespace"),
        ({"namespace": "a" * 129, "session_id": "s", "role": "user", "text": "hi"}, "namespace"),
        ({"namespace": "acme", "session_id": "s", "role": "user", "text": "x" * 20_001}, "text"),
        ({"namespace": "acme", "session_id": "s", "role": "user", "text": "   "}, "blank"),
        (
            {
                "namespace": "acme",
                "session_id": "s",
                "role": "user",
                "text": "hi",
                "occurred_at": "2024-01-01T00:00:00",
            },
            "timezone",
        ),
        ({"namespace": "acme", "items": []}, "items"),
        ({"namespace": "acme", "items": [{"session_id": "s", "role": "user", "text": "x"}] * 501}, "items"),
        (
            {
                "namespace": "acme",
                "session_id": "s",
                "role": "user",
                "text": "hi",
                "items": [{"session_id": "s", "role": "user", "text": "x"}],
            },
            "not both",
        ),
        ({"namespace": "acme", "session_id": "s", "role": "user", "text": "hi", "surprise": 1}, "surprise"),
    ],
)
def test_bad_ingest_bodies_are_rejected_with_the_field_named(body, fragment):
    with pytest.raises(pydantic.ValidationError) as err:
        IngestRequest.model_validate(body)
    assert fragment in str(err.value)


def test_query_bounds_and_session_scope():
    assert QueryRequest.model_validate({"namespace": "a", "query": "q"}).top_k == 8
    for bad in ({"top_k": 0}, {"top_k": 101}, {"scope": "session"}, {"query": ""}):
        with pytest.raises(pydantic.ValidationError):
            QueryRequest.model_validate({"namespace": "a", "query": "q", **bad})
