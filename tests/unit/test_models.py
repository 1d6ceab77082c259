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


def test_an_ingest_request_is_shown_without_its_texts():
    batch = IngestRequest.model_validate(
        {
            "namespace": "acme",
            "items": [{"session_id": "s1", "role": "user", "text": f"secret {i}"} for i in range(3)],
        }
    )
    single = IngestRequest.model_validate(
        {"namespace": "acme", "session_id": "s1", "role": "user", "text": "secret"}
    )
    assert repr(batch) == "IngestRequest(namespace='acme', items=3)"
    assert repr(single) == "IngestRequest(namespace='acme', session_id='s1')"
    assert "secret" not in f"{ {'body': batch} }"


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


def test_the_settings_decide_the_text_and_batch_limits_the_models_enforce():
    """MEMOS_MAX_TEXT_CHARS / MEMOS_MAX_BATCH_ITEMS are read when the models are built (cold start)."""
    import subprocess
    import sys

    probe = (
        "from pydantic import ValidationError\n"
        "from memos.models import IngestRequest\n"
        "base = {'namespace': 'n', 'session_id': 's', 'role': 'user'}\n"
        "IngestRequest.model_validate({**base, 'text': 'x' * 12})\n"
        "for bad in ({**base, 'text': 'x' * 13},\n"
        "            {'namespace': 'n', 'items': [{'session_id': 's', 'role': 'user', 'text': 'a'}] * 3}):\n"
        "    try:\n"
        "        IngestRequest.model_validate(bad)\n"
        "    except ValidationError:\n"
        "        print('refused')\n"
    )
    env = {"MEMOS_MAX_TEXT_CHARS": "12", "MEMOS_MAX_BATCH_ITEMS": "2", "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["refused", "refused"]
