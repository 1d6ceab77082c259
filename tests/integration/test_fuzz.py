"""Fuzzing the JSON routes: arbitrary bodies and mutations of valid ones never give a 5xx.

Every answer is 2xx or 4xx; a 4xx is in the SPEC error shape and leaves the namespace's stored
data (every table with a namespace column, the keys table, the L1 window) exactly as it was.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.integration.test_security_matrix import _is_error, _snapshot

FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure reproduces; new seeds come from edits
)


@pytest.fixture(scope="module", autouse=True)
def no_rate_limit():
    from types import SimpleNamespace

    from memos.access import ratelimit

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ratelimit, "get_settings", lambda: SimpleNamespace(rate_limit_rps=0, rate_limit_burst=1))
        yield


@pytest.fixture(scope="module")
def target(env: dict[str, Any], admin_key: str) -> dict[str, Any]:
    """A namespace with a few memories, and the admin client the fuzzer calls with."""
    api = Api(admin_key)
    ns = f"fz-{uuid.uuid4().hex[:10]}"
    items = [
        {"session_id": "s", "role": "user", "text": "Ana is allergic to peanuts"},
        {"session_id": "s", "role": "assistant", "text": "Noted: no peanuts for Ana"},
    ]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200
    return {"api": api, "ns": ns, "memory_id": body["memories"][0]["memory_id"], "env": env}


# --- strategies --------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity serialize to non-standard JSON
    | st.text(max_size=40)
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
HUGE = st.integers(min_value=20_001, max_value=1_200_000).map(lambda n: "é" * (n // 2) + "x" * (n - n // 2))
BAD_NAMES = st.sampled_from(
    [
        "",
        " ",
        "-x",
        "_x",
        "a" * 129,
        "ns/../other",
        "ns with space",
        "ns\x00",
        "名字",
        "*",
        "a*",
        "a,b",
        "%2F",
    ]
)
BAD_TIMES = st.sampled_from(
    [
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00",  # no timezone
        "yesterday",
        "",
        "0000-00-00T00:00:00Z",
        "9999-12-31T23:59:59+25:00",
        "1e309",
        -1,
        1e20,
        "２０２４-01-01T00:00:00Z",
    ]
)
UNICODE = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=60
)
JUNK = JSONISH | HUGE | BAD_NAMES | BAD_TIMES | UNICODE


def _valid_bodies(t: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    ns = t["ns"]
    return {
        ("POST", "/v1/ingest"): {
            "namespace": ns,
            "session_id": "s",
            "role": "user",
            "text": "I moved to Porto in May",
            "metadata": {"source": "chat", "n": 1},
            "occurred_at": "2024-05-01T10:00:00Z",
            "kind": "episodic",
            "importance": 0.5,
        },
        ("POST", "/v1/ingest#batch"): {
            "namespace": ns,
            "items": [
                {"session_id": "s", "role": "user", "text": "batch one"},
                {"session_id": "s2", "role": "tool", "text": "batch two", "kind": "semantic"},
            ],
        },
        ("POST", "/v1/query"): {
            "namespace": ns,
            "query": "what is Ana allergic to?",
            "session_id": "s",
            "scope": "namespace",
            "top_k": 5,
            "token_budget": 500,
            "filters": {"roles": ["user"], "since": "2020-01-01T00:00:00Z", "metadata": {"source": "chat"}},
            "include_filtered": True,
        },
        ("POST", "/v1/answer"): {"namespace": ns, "question": "What is Ana allergic to?", "top_k": 4},
        ("POST", "/v1/answer/stream"): {"namespace": ns, "question": "What is Ana allergic to?"},
        ("POST", "/v1/sessions/reset"): {
            "namespace": ns,
            "session_id": "nobody",
            "confirm": False,
            "dry_run": True,
        },
        ("PATCH", "/v1/memories/{memory_id}"): {"text": "Ana is allergic to tree nuts", "importance": 0.7},
        ("PUT", "/v1/policy"): {"namespace": ns, "settings": {"l1_window_size": 30, "pii_redaction": False}},
        ("POST", "/v1/keys"): {"name": "fuzz", "scopes": ["memory:read"], "namespaces": [ns]},
    }


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """A valid body with one field replaced, removed, or joined by an unknown one (maybe in an item)."""
    body = copy.deepcopy(valid)
    holder = body
    if "items" in body and draw(st.booleans()):
        holder = body["items"][0]
    op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    field = draw(st.sampled_from(sorted(holder)))
    if op == "replace":
        holder[field] = draw(JUNK)
    elif op == "delete":
        del holder[field]
    else:
        holder[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in holder))] = draw(JSONISH)
    return body


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


PAYLOADS = st.one_of(
    st.just("mutated"),
    st.just("mutated"),
    st.just("mutated"),
    st.just("jsonish"),
    st.just("bytes"),
)


def _check(t: dict[str, Any], db_conn: Any, method: str, path: str, data: bytes) -> None:
    api: Api = t["api"]
    before = _snapshot(db_conn, t["env"], t["ns"])
    keys_before = db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"]
    status, body, headers = api.call(method, path, raw=data)
    assert status < 500, (status, body)
    assert headers.get("x-request-id")
    if status >= 400:
        assert _is_error(body), body
        assert _snapshot(db_conn, t["env"], t["ns"]) == before, "a rejected request changed stored data"
        assert db_conn.execute("SELECT count(*) AS n FROM api_keys").fetchone()["n"] == keys_before


ROUTE_IDS = [
    ("POST", "/v1/ingest"),
    ("POST", "/v1/ingest#batch"),
    ("POST", "/v1/query"),
    ("POST", "/v1/answer"),
    ("POST", "/v1/answer/stream"),
    ("POST", "/v1/sessions/reset"),
    ("PATCH", "/v1/memories/{memory_id}"),
    ("PUT", "/v1/policy"),
    ("POST", "/v1/keys"),
]


@pytest.mark.parametrize("route", ROUTE_IDS, ids=lambda r: f"{r[0]}:{r[1]}")
@FUZZ_SETTINGS
@given(data=st.data())
def test_json_routes_answer_2xx_or_4xx_and_rejections_store_nothing(target, db_conn, route, data):
    method, template = route
    valid = _valid_bodies(target)[route]
    kind = data.draw(PAYLOADS, label="payload")
    if kind == "mutated":
        raw = _encode(data.draw(mutated(valid), label="body"))
    elif kind == "jsonish":
        raw = _encode(data.draw(JSONISH, label="body"))
    else:
        raw = data.draw(
            st.binary(max_size=300) | st.sampled_from([b"{", b"\xff\xfe{}", b"[]", b"null", b'{"a":'])
        )
    path = template.split("#")[0].replace("{memory_id}", target["memory_id"])
    _check(target, db_conn, method, path, raw)


GET_PARAMS = {
    "/v1/memories": ["namespace", "session_id", "kind", "cursor", "limit"],
    "/v1/policy": ["namespace"],
    "/v1/entities": ["namespace", "q"],
    "/v1/ops/audit": ["namespace", "session_id", "action", "since", "until", "cursor", "limit"],
    "/v1/ops/context_packs": ["namespace", "include_pack", "cursor", "limit"],
}


@pytest.mark.parametrize("path", sorted(GET_PARAMS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_query_strings_answer_2xx_or_4xx(target, db_conn, path, data):
    params = {"namespace": target["ns"]}
    name = data.draw(st.sampled_from(GET_PARAMS[path]), label="param")
    params[name] = data.draw(UNICODE | BAD_TIMES.map(str) | st.integers().map(str) | BAD_NAMES, label="value")
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    _check(target, db_conn, "GET", f"{path}?{query}", b"")


@pytest.mark.parametrize("route", ROUTE_IDS[:3] + ROUTE_IDS[6:], ids=lambda r: f"{r[0]}:{r[1]}")
@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
def test_deeply_nested_json_is_a_clean_4xx(target, db_conn, route, depth):
    method, template = route
    path = template.split("#")[0].replace("{memory_id}", target["memory_id"])
    raw = b'{"namespace": ' + b"[" * depth + b"]" * depth + b', "text": ' + b"{" * 0 + b'"x"}'
    _check(target, db_conn, method, path, raw)


@pytest.mark.parametrize(
    "memory_id", ["x", "0" * 40, "%00", "..%2F..%2Fkeys", str(uuid.uuid4()).upper(), "1" * 300]
)
def test_malformed_path_ids_are_404(target, memory_id):
    for method in ("GET", "DELETE"):
        status, body, _ = target["api"].call(method, f"/v1/memories/{memory_id}")
        assert status == 404 or (status == 200 and memory_id.isupper()), (method, status, body)
        assert status == 200 or _is_error(body)
