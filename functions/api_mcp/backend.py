"""The MCP tools inside the API (POST /v1/mcp): the domain, called with the caller's identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions import routes
from memos.access.auth import Identity
from memos.mcp_server import (
    AnswerRequest,
    AnswerResponse,
    ForgetRequest,
    ForgetResult,
    GetMemoryRequest,
    IngestRequest,
    IngestResponse,
    ListMemoriesRequest,
    MemoryOut,
    MemoryPage,
    QueryRequest,
    QueryResponse,
)

if TYPE_CHECKING:
    from memos.governance import access_audit

# Each tool stands for one route; its scope (and namespace grant) is that route's.
TOOL_ROUTES: dict[str, tuple[str, str]] = {
    "remember": ("POST", "/v1/ingest"),
    "recall": ("POST", "/v1/query"),
    "answer": ("POST", "/v1/answer"),
    "forget_memory": ("DELETE", "/v1/memories/{memory_id}"),
    "forget_session": ("POST", "/v1/sessions/reset"),
    "list_memories": ("GET", "/v1/memories"),
    "get_memory": ("GET", "/v1/memories/{memory_id}"),
}


class DomainBackend:
    """The tools inside the API, each checked as the route it stands for (scope and namespace grant
    from the route table, the same rule the route middleware applies)."""

    def __init__(self, who: Identity, request_id: str | None) -> None:
        self.who, self.request_id = who, request_id

    def _allow(self, tool: str, namespace: str | None) -> None:
        method, path = TOOL_ROUTES[tool]
        scope = routes.route(method, path).scope
        assert scope is not None
        self.who.authorize(scope, namespace)

    def remember(self, req: IngestRequest) -> IngestResponse:
        from memos.memory import ingest

        self._allow("remember", req.namespace)
        return ingest.ingest(req.namespace, req.as_items(), actor=self.who.key_id, request_id=self.request_id)

    def recall(self, req: QueryRequest) -> QueryResponse:
        from memos.retrieval import search as retrieval

        self._allow("recall", req.namespace)
        return retrieval.query(req, reader=self._reader("query"))

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        from memos.retrieval import answer

        self._allow("answer", req.namespace)
        result, _resp = answer.answer_with_context(req, reader=self._reader("answer"))
        return result

    def _reader(self, action: str) -> access_audit.Reader:
        from memos.governance import access_audit

        return access_audit.Reader(action, self.who.key_id, self.request_id, via="mcp")

    def forget(self, req: ForgetRequest) -> ForgetResult:
        from memos.memory import memories, sessions

        if req.memory_id is not None:
            self._allow("forget_memory", None)
            memories.delete_memory(self.who, req.memory_id, request_id=self.request_id)
            return ForgetResult(deleted_memory_id=req.memory_id)
        assert req.namespace is not None and req.session_id is not None
        self._allow("forget_session", req.namespace)
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

        self._allow("list_memories", req.namespace)
        return memories.list_memories(
            req.namespace, session_id=req.session_id, kind=req.kind, cursor=req.cursor, limit=req.limit
        )

    def get_memory(self, req: GetMemoryRequest) -> MemoryOut:
        from memos.memory import memories

        self._allow("get_memory", None)
        return memories.get_visible(self.who, req.memory_id)
