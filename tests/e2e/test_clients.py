"""The SDK, the MCP server (stdio and streamable HTTP), the framework adapters and the CLI, against a
real `memos dev` child process (embedded PostgreSQL, real Redis), one per module."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from infra.local.services import free_port
from memos.mcp_server import ForgetRequest
from memos.models import IngestRequest, QueryRequest
from memos.sdk import (
    AsyncMemosClient,
    AuthenticationError,
    MemosClient,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    ValidationError,
)
from tests.e2e.dev import launch

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _env(services: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")}
    env["MEMOS_REDIS_URL"] = services["redis_url"]
    # Low per-key limits so the retry test meets real 429s; every other test uses its own key.
    env["MEMOS_RATE_LIMIT_RPS"] = "10"
    env["MEMOS_RATE_LIMIT_BURST"] = "25"
    return env


def _start(cwd: Path, env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[str]:
    return launch(["--port", str(port), *extra], env, cwd)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 0


class Stack:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env, self.port = cwd, env, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = _start(cwd, env, self.port)

    @property
    def admin_key(self) -> str:
        return (self.cwd / ".memos" / "admin_key").read_text().strip()

    def restart(self, *extra: str) -> None:
        _stop(self.proc)
        self.proc = _start(self.cwd, self.env, self.port, *extra)

    def key(self, scopes: list[str], namespaces: list[str]) -> str:
        with MemosClient(self.url, self.admin_key) as admin:
            return admin.create_key(f"t-{uuid.uuid4().hex[:6]}", scopes, namespaces).key


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("clients"), _env(services))
    yield s
    _stop(s.proc)


@pytest.fixture
def ns() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")}
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        cwd=stack.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---------------------------------------------------------------------------------------- CLI


def test_memos_keys_finds_the_local_stack_with_no_variable_set(stack, ns):
    data = stack.cwd / ".memos"
    assert stat.S_IMODE((data / "admin_key").stat().st_mode) == 0o600
    assert json.loads((data / "stack.json").read_text())["url"] == stack.url
    out = _cli(stack, "keys", "create", "--name", "agent", "--scopes", "memory:read", "--namespaces", ns)
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["scopes"] == ["memory:read"] and created["namespaces"] == [ns]
    with MemosClient(stack.url, created["key"]) as client:
        assert client.list_memories(ns).memories == []
        with pytest.raises(PermissionDeniedError) as denied:
            client.ingest(namespace=ns, session_id="s", role="user", text="no write scope")
    assert denied.value.code == "forbidden" and denied.value.status == 403
    listed = json.loads(_cli(stack, "keys", "list").stdout)
    assert created["key_id"] in {k["key_id"] for k in listed}


# ---------------------------------------------------------------------------------------- SDK


def test_sdk_covers_the_memory_lifecycle_with_typed_results(stack, ns):
    with MemosClient(stack.url, stack.key(["memory:read", "memory:write"], [ns])) as client:
        first = client.ingest(
            IngestRequest(namespace=ns, session_id="s1", role="user", text="I live in Lisbon")
        )
        assert first.accepted == 1 and first.memories[0].status == "created"
        mid = first.memories[0].memory_id
        batch = client.ingest(
            namespace=ns,
            items=[
                {"session_id": "s1", "role": "user", "text": f"fact number {i} about gardening"}
                for i in range(4)
            ],
        )
        assert [m.status for m in batch.memories] == ["created"] * 4
        paged = list(client.iter_memories(ns, page_size=2))  # three pages
        assert len(paged) == 5 and paged[-1].memory_id == mid
        updated = client.update_memory(mid, text="I live in Porto now")
        assert updated.text == "I live in Porto now"
        assert [v.text for v in client.memory_history(mid).versions][:1] == ["I live in Lisbon"]
        found = client.query(QueryRequest(namespace=ns, query="where do I live?"))
        assert found.results[0].memory_id == mid and "Porto" in found.context_pack.text
        assert found.results[0].components
        answered = client.answer(namespace=ns, question="where do I live?")
        assert mid in answered.citations
        events = list(client.answer_stream(namespace=ns, question="where do I live?"))
        assert events[0].event == "context" and events[-1].event == "done"
        assert events[-1].answer is not None and "".join(e.text for e in events if e.event == "delta") == (
            events[-1].answer.answer
        )
        client.delete_memory(mid)
        with pytest.raises(NotFoundError) as missing:
            client.get_memory(mid)
        assert missing.value.code == "not_found" and missing.value.request_id
        reset = client.reset_session(namespace=ns, session_id="s1", confirm=True)
        assert reset.counts.memories == 5  # every row of the session, the deleted one too
        assert client.list_memories(ns).memories == []


def test_sdk_reuses_one_idempotency_key_so_a_retried_write_is_stored_once(stack, ns):
    with MemosClient(stack.url, stack.key(["memory:read", "memory:write"], [ns])) as client:
        a = client.ingest(namespace=ns, session_id="s", role="user", text="only once", idempotency_key="k-1")
        b = client.ingest(namespace=ns, session_id="s", role="user", text="only once", idempotency_key="k-1")
        assert a.memories[0].memory_id == b.memories[0].memory_id
        assert len(client.list_memories(ns).memories) == 1


def test_sdk_errors_carry_the_api_code(stack, ns):
    other = f"{ns}-other"
    key = stack.key(["memory:read", "memory:write", "ops:read"], [ns])
    with MemosClient(stack.url, key) as client:
        with pytest.raises(PermissionDeniedError) as outside:
            client.query(namespace=other, query="anything")
        assert (outside.value.status, outside.value.code) == (403, "forbidden")
        with pytest.raises(PermissionDeniedError):
            list(client.iter_memories(other))
        with pytest.raises(ValidationError) as invalid:
            client.list_memories(ns, limit=10_000)
        assert invalid.value.code == "validation_error" and invalid.value.details
        assert [e.action for e in client.iter_audit(ns)] == []
    with MemosClient(stack.url, "memos_not_a_key") as bad, pytest.raises(AuthenticationError) as unauth:
        bad.list_memories(ns)
    assert unauth.value.code == "unauthorized"


def test_sdk_retries_429_honoring_retry_after_and_counts_it(stack, ns):
    retried: list[int] = []
    key = stack.key(["memory:read"], [ns])
    with MemosClient(
        stack.url,
        key,
        retry=RetryPolicy(max_retries=6),
        on_retry=lambda call, n, err: retried.append(err.status),
    ) as client:
        started = time.monotonic()
        pages = [client.list_memories(ns) for _ in range(40)]  # burst 25 at 10/s
    assert len(pages) == 40 and all(p.memories == [] for p in pages)
    assert retried and set(retried) == {429} and client.retries == len(retried)
    assert time.monotonic() - started >= 1.0  # waited for Retry-After (whole seconds) at least once
    with MemosClient(stack.url, key, retry=RetryPolicy(max_retries=0)) as strict:
        statuses = []
        for _ in range(40):
            try:
                strict.list_memories(ns)
                statuses.append(200)
            except Exception as exc:
                statuses.append(getattr(exc, "code", "?"))
    assert "rate_limited" in statuses


def test_async_sdk_ingests_queries_and_pages(stack, ns):
    async def run() -> None:
        async with AsyncMemosClient(stack.url, stack.key(["memory:read", "memory:write"], [ns])) as client:
            await client.ingest(namespace=ns, session_id="a", role="user", text="my cat is called Miso")
            got = await client.query(namespace=ns, query="what is my cat called?")
            assert "Miso" in got.results[0].text
            assert [m.text async for m in client.iter_memories(ns, page_size=1)] == ["my cat is called Miso"]
            assert [e.event async for e in client.answer_stream(namespace=ns, question="cat name?")][
                -1
            ] == "done"
            with pytest.raises(PermissionDeniedError):
                await client.query(namespace=f"{ns}-x", query="anything")

    asyncio.run(run())


# ---------------------------------------------------------------------------------------- MCP


async def _mcp_http(url: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http,
        streamable_http_client(f"{url}/v1/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        return tools, [await session.call_tool(name, args) for name, args in calls]


async def _mcp_stdio(url: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "infra.cli", "mcp", "--url", url, "--key", key],
        env={k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        return tools, [await session.call_tool(name, args) for name, args in calls]


TRANSPORTS = {"http": _mcp_http, "stdio": _mcp_stdio}


def _error(result: Any) -> dict[str, Any]:
    assert result.is_error
    return dict(json.loads(result.content[0].text)["error"])


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_mcp_tools_remember_recall_answer_forget(stack, ns, transport):
    key = stack.key(["memory:read", "memory:write"], [ns])
    remember = {
        "namespace": ns,
        "session_id": "m1",
        "role": "user",
        "text": "The deploy window is Tuesday 14:00",
    }
    tools, (stored, recalled, answered, listed) = anyio.run(
        TRANSPORTS[transport],
        stack.url,
        key,
        [
            ("remember", remember),
            ("recall", {"namespace": ns, "query": "when is the deploy window?"}),
            ("answer", {"namespace": ns, "question": "when is the deploy window?"}),
            ("list_memories", {"namespace": ns}),
        ],
    )
    schemas = {t.name: t.input_schema for t in tools.tools}
    assert set(schemas) == {"remember", "recall", "answer", "forget", "list_memories", "get_memory"}
    assert schemas["remember"] == IngestRequest.model_json_schema()
    assert schemas["recall"] == QueryRequest.model_json_schema()
    assert schemas["forget"] == ForgetRequest.model_json_schema()
    mid = stored.structured_content["memories"][0]["memory_id"]
    top = recalled.structured_content["results"][0]
    assert (
        top["memory_id"] == mid
        and top["components"]
        and "Tuesday" in recalled.structured_content["context_pack"]["text"]
    )
    assert mid in answered.structured_content["citations"]
    assert [m["memory_id"] for m in listed.structured_content["memories"]] == [mid]
    _, (got, forgot, gone) = anyio.run(
        TRANSPORTS[transport],
        stack.url,
        key,
        [
            ("get_memory", {"memory_id": mid}),
            ("forget", {"memory_id": mid}),
            ("get_memory", {"memory_id": mid}),
        ],
    )
    assert got.structured_content["text"] == remember["text"]
    assert forgot.structured_content["deleted_memory_id"] == mid
    assert _error(gone)["code"] == "not_found"


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_mcp_tools_keep_the_keys_scopes_and_namespaces(stack, ns, transport):
    reader = stack.key(["memory:read"], [ns])
    _, (denied, outside, invalid) = anyio.run(
        TRANSPORTS[transport],
        stack.url,
        reader,
        [
            ("remember", {"namespace": ns, "session_id": "s", "role": "user", "text": "not allowed"}),
            ("recall", {"namespace": f"{ns}-elsewhere", "query": "anything"}),
            ("forget", {"namespace": ns}),
        ],
    )
    assert (_error(denied)["code"], _error(denied)["status"]) == ("forbidden", 403)
    assert _error(outside)["code"] == "forbidden"
    assert _error(invalid)["code"] == "validation_error"
    with MemosClient(stack.url, stack.admin_key) as admin:
        assert admin.list_memories(ns).memories == []  # the refused remember stored nothing


def test_mcp_http_refuses_a_request_without_a_key(stack):
    import httpx

    resp = httpx.post(f"{stack.url}/v1/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


# ---------------------------------------------------------------------------------------- adapters


def test_langgraph_store_puts_gets_updates_searches_and_deletes(stack, ns):
    from memos.sdk.adapters.langgraph_store import MemosStore

    store = MemosStore(MemosClient(stack.url, stack.key(["memory:read", "memory:write"], [f"{ns}*"])))
    space = (ns, "alice")
    store.put(space, "drink", {"text": "Alice drinks oolong tea", "strength": "light"})
    store.put(space, "city", {"text": "Alice lives in Porto"})
    item = store.get(space, "drink")
    assert item is not None and item.value == {"text": "Alice drinks oolong tea", "strength": "light"}
    store.put(space, "drink", {"text": "Alice switched to jasmine tea"})
    assert store.get(space, "drink").value == {"text": "Alice switched to jasmine tea"}
    hits = store.search(space, query="what tea does Alice drink?", limit=2)
    assert hits[0].key == "drink" and hits[0].score is not None and hits[0].score > 0
    assert {h.key for h in store.search(space)} == {"drink", "city"}
    store.delete(space, "drink")
    assert store.get(space, "drink") is None
    assert store.get((f"{ns}-missing",), "drink") is None or pytest.fail("other namespace seen")


def test_langgraph_store_refuses_a_namespace_outside_the_key(stack, ns):
    from memos.sdk.adapters.langgraph_store import MemosStore

    store = MemosStore(MemosClient(stack.url, stack.key(["memory:read", "memory:write"], [ns])))
    with pytest.raises(PermissionDeniedError):
        store.put(("somewhere-else",), "k", {"text": "x"})


def test_langchain_history_keeps_order_and_clears(stack, ns):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from memos.sdk.adapters.langchain_history import MemosChatMessageHistory

    history = MemosChatMessageHistory(
        MemosClient(stack.url, stack.key(["memory:read", "memory:write"], [ns])), ns, "chat"
    )
    history.add_messages([SystemMessage("be brief"), HumanMessage("hi, I am Ana"), AIMessage("hello Ana")])
    history.add_user_message("what is my name?")
    assert [(m.type, m.text) for m in history.messages] == [
        ("system", "be brief"),
        ("human", "hi, I am Ana"),
        ("ai", "hello Ana"),
        ("human", "what is my name?"),
    ]
    history.clear()
    assert history.messages == []


# ---------------------------------------------------------------------------------------- docs


def _doc_blocks() -> list[str]:
    text = (ROOT / "docs" / "CLIENTS.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize(
    "program",
    [pytest.param(b, id=f"CLIENTS.md-block-{i}") for i, b in enumerate(_doc_blocks())]
    + [pytest.param(p.read_text(), id=p.name) for p in sorted((ROOT / "docs" / "examples").glob("*.py"))],
)
def test_documented_examples_run_against_the_local_stack(stack, program, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMOS_")}
    env.update(MEMOS_URL=stack.url, MEMOS_API_KEY=stack.admin_key)
    script = tmp_path / "example.py"
    script.write_text(program.replace('if __name__ == "__main__":', "if True:"))
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


# ---------------------------------------------------------------------------------------- restarts (last)


def test_memos_dev_keeps_one_admin_key_across_restarts_unless_rotated(stack):
    before = stack.admin_key
    stack.restart()
    assert stack.admin_key == before
    with MemosClient(stack.url, before) as client:
        assert client.list_keys().keys
    stack.restart("--rotate-key")
    after = stack.admin_key
    assert after != before
    with MemosClient(stack.url, before) as old, pytest.raises(AuthenticationError):
        old.list_keys()
    with MemosClient(stack.url, after) as new:
        live_dev_keys = [k for k in new.list_keys().keys if k.name == "dev" and k.revoked_at is None]
    assert len(live_dev_keys) == 1
