"""The MCP server: tools remember, recall, answer, forget, list_memories, get_memory over a backend.

Two backends serve the same tools: ``DomainBackend`` calls the domain with the caller's identity (the
``POST /v1/mcp`` route, stateless streamable HTTP with JSON responses), and the SDK backend in
``memos.sdk.mcp_stdio`` calls the HTTP API with a URL and key (``memos mcp`` over stdio). Each tool's
input schema is the JSON schema of the API model it takes; scopes are the API's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from memos.memory.sessions import ResetResult
from memos.models import (
    AnswerRequest,
    AnswerResponse,
    IngestRequest,
    IngestResponse,
    Kind,
    MemoryOut,
    MemoryPage,
    Namespace,
    QueryRequest,
    QueryResponse,
    SessionId,
    Strict,
)

if TYPE_CHECKING:
    from memos.access.auth import Identity

SERVER_NAME = "memos"
INSTRUCTIONS = (
    "MemOS is long-term memory. Call `remember` with what was said or learned, `recall` before answering"
    " to get a token-budgeted context pack and ranked, explained memories, `answer` for a cited answer,"
    " `forget` to delete a memory or reset a session."
)


class ForgetRequest(Strict):
    """Delete one memory (memory_id), or reset a whole session (namespace + session_id)."""

    memory_id: UUID | None = None
    namespace: Namespace | None = None
    session_id: SessionId | None = None
    dry_run: bool = Field(False, description="session reset only: report counts, change nothing")

    @model_validator(mode="after")
    def _one_target(self) -> ForgetRequest:
        if (self.memory_id is None) == (self.session_id is None):
            raise ValueError("send memory_id, or namespace and session_id")
        if self.session_id is not None and self.namespace is None:
            raise ValueError("a session reset needs the namespace")
        return self


class ForgetResult(BaseModel):
    deleted_memory_id: UUID | None = None
    session_reset: ResetResult | None = None


class ListMemoriesRequest(Strict):
    namespace: Namespace
    session_id: SessionId | None = None
    kind: Kind | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=200)


class GetMemoryRequest(Strict):
    memory_id: UUID


class Backend(Protocol):
    def remember(self, req: IngestRequest) -> IngestResponse: ...
    def recall(self, req: QueryRequest) -> QueryResponse: ...
    def answer(self, req: AnswerRequest) -> AnswerResponse: ...
    def forget(self, req: ForgetRequest) -> ForgetResult: ...
    def list_memories(self, req: ListMemoriesRequest) -> MemoryPage: ...
    def get_memory(self, req: GetMemoryRequest) -> MemoryOut: ...


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input: type[BaseModel]
    output: type[BaseModel]
    call: Callable[[Backend, Any], BaseModel]
    read_only: bool


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "remember",
        "Store one memory (namespace, session_id, role, text) or a batch (namespace, items). Needs memory:write.",
        IngestRequest,
        IngestResponse,
        lambda b, r: b.remember(r),
        False,
    ),
    ToolSpec(
        "recall",
        "Ranked, explained memories (score and components per result) and a token-budgeted context pack.",
        QueryRequest,
        QueryResponse,
        lambda b, r: b.recall(r),
        True,
    ),
    ToolSpec(
        "answer",
        "Answer a question from memory, with the memory ids it cites.",
        AnswerRequest,
        AnswerResponse,
        lambda b, r: b.answer(r),
        True,
    ),
    ToolSpec(
        "forget",
        "Delete one memory by memory_id, or reset a session (namespace, session_id). Needs memory:write.",
        ForgetRequest,
        ForgetResult,
        lambda b, r: b.forget(r),
        False,
    ),
    ToolSpec(
        "list_memories",
        "Live memories of a namespace (optionally one session or kind), newest first, with a next_cursor.",
        ListMemoriesRequest,
        MemoryPage,
        lambda b, r: b.list_memories(r),
        True,
    ),
    ToolSpec(
        "get_memory", "One memory by id.", GetMemoryRequest, MemoryOut, lambda b, r: b.get_memory(r), True
    ),
)
TOOLS_BY_NAME = {t.name: t for t in TOOLS}


def error_payload(
    code: str, message: str, status: int | None = None, details: list[Any] | None = None
) -> str:
    return json.dumps(
        {"error": {"code": code, "message": message, "status": status, "details": details or []}}
    )


def run_tool(
    backend: Backend, name: str, arguments: dict[str, Any] | None, errors: tuple[type[Exception], ...]
) -> tuple[dict[str, Any] | None, str, bool]:
    """(structured result, text, is_error) for one tool call; ``errors`` are the backend's typed errors."""
    import pydantic

    spec = TOOLS_BY_NAME.get(name)
    if spec is None:
        return None, error_payload("not_found", f"no tool named {name!r}", 404), True
    try:
        request = spec.input.model_validate(arguments or {})
    except pydantic.ValidationError as exc:
        details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return None, error_payload("validation_error", "invalid arguments", 422, details), True
    try:
        result = spec.call(backend, request)
    except errors as exc:
        status = getattr(exc, "status", None)
        code = str(getattr(exc, "code", "error"))
        message = str(getattr(exc, "message", exc))
        return None, error_payload(code, message, status, getattr(exc, "details", None)), True
    data = result.model_dump(mode="json")
    return data, json.dumps(data), False


def build_server(backend: Backend, errors: tuple[type[Exception], ...], *, version: str = "") -> Any:
    """A low-level MCP server whose tools call ``backend`` (sync calls run in a worker thread)."""
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    tools = [
        types.Tool(
            name=t.name,
            description=t.description,
            input_schema=t.input.model_json_schema(),
            output_schema=t.output.model_json_schema(mode="serialization"),
            annotations=types.ToolAnnotations(
                read_only_hint=t.read_only, destructive_hint=t.name == "forget"
            ),
        )
        for t in TOOLS
    ]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        data, text, is_error = await anyio.to_thread.run_sync(
            lambda: run_tool(backend, params.name, params.arguments, errors)
        )
        return types.CallToolResult(
            content=[types.TextContent(text=text)], structured_content=data, is_error=is_error
        )

    return Server(
        SERVER_NAME,
        version=version,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


class DomainBackend:
    """The tools inside the API: the caller's identity and scopes, exactly as the HTTP routes check them."""

    def __init__(self, who: Identity, request_id: str | None) -> None:
        self.who, self.request_id = who, request_id

    def remember(self, req: IngestRequest) -> IngestResponse:
        from memos.memory import ingest

        self.who.require("memory:write", req.namespace)
        return ingest.ingest(req.namespace, req.as_items(), actor=self.who.key_id, request_id=self.request_id)

    def recall(self, req: QueryRequest) -> QueryResponse:
        from memos.retrieval import search as retrieval

        self.who.require("memory:read", req.namespace)
        resp = retrieval.query(req)
        self._audit("query", req.namespace, req.session_id, resp)
        return resp

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        from memos.retrieval import answer

        self.who.require("memory:read", req.namespace)
        result, resp = answer.answer_with_context(req)
        self._audit("answer", req.namespace, req.session_id, resp)
        return result

    def _audit(self, action: str, namespace: str, session_id: str | None, resp: QueryResponse) -> None:
        from memos.governance import access_audit

        access_audit.record_read(
            action,
            namespace=namespace,
            session_id=session_id,
            actor=self.who.key_id,
            request_id=self.request_id,
            memory_ids=access_audit.returned_ids(resp),
            details={"query_id": str(resp.query_id), "via": "mcp"},
        )

    def forget(self, req: ForgetRequest) -> ForgetResult:
        from memos.memory import memories, sessions

        if req.memory_id is not None:
            memories.delete_memory(self.who, req.memory_id, request_id=self.request_id)
            return ForgetResult(deleted_memory_id=req.memory_id)
        assert req.namespace is not None and req.session_id is not None
        reset = sessions.reset_session(
            self.who,
            req.namespace,
            req.session_id,
            confirm=not req.dry_run,
            dry_run=req.dry_run,
            clear_audit=False,
            request_id=self.request_id,
        )
        return ForgetResult(session_reset=reset)

    def list_memories(self, req: ListMemoriesRequest) -> MemoryPage:
        from memos.memory import memories

        self.who.require("memory:read", req.namespace)
        return memories.list_memories(
            req.namespace, session_id=req.session_id, kind=req.kind, cursor=req.cursor, limit=req.limit
        )

    def get_memory(self, req: GetMemoryRequest) -> MemoryOut:
        from memos.memory import memories

        return memories.get_visible(self.who, req.memory_id)


HttpReply = tuple[int, dict[str, str], bytes]


async def serve_http_once(
    server: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> HttpReply:
    """One streamable-HTTP request through the SDK's session manager (stateless, JSON responses)."""
    import anyio
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    done = anyio.Event()
    delivered = False
    status, out_headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out_headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("memos", 443),
        "client": ("127.0.0.1", 0),
    }
    manager = StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)
    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, out_headers, b"".join(chunks)


def handle_http(backend: Backend, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
    import anyio

    from memos import __version__
    from memos.kernel.errors import MemosError

    server = build_server(backend, (MemosError,), version=__version__)
    return anyio.run(serve_http_once, server, method, path, headers, body)
