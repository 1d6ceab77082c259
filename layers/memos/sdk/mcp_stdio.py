"""``memos mcp``: the MCP tools over stdio for desktop and IDE agents, calling the HTTP API with a key."""

from __future__ import annotations

from memos.mcp_server import (
    Backend,
    ForgetRequest,
    ForgetResult,
    GetMemoryRequest,
    ListMemoriesRequest,
    build_server,
)
from memos.models import (
    AnswerRequest,
    AnswerResponse,
    IngestRequest,
    IngestResponse,
    MemoryOut,
    MemoryPage,
    QueryRequest,
    QueryResponse,
)
from memos.sdk.client import MemosClient
from memos.sdk.errors import MemosApiError


class SdkBackend(Backend):
    """The tools through the SDK: the API checks the key's scopes and namespaces."""

    def __init__(self, client: MemosClient) -> None:
        self.client = client

    def remember(self, req: IngestRequest) -> IngestResponse:
        return self.client.ingest(req)

    def recall(self, req: QueryRequest) -> QueryResponse:
        return self.client.query(req)

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        return self.client.answer(req)

    def forget(self, req: ForgetRequest) -> ForgetResult:
        if req.memory_id is not None:
            self.client.delete_memory(req.memory_id)
            return ForgetResult(deleted_memory_id=req.memory_id)
        reset = self.client.reset_session(
            namespace=req.namespace, session_id=req.session_id, confirm=not req.dry_run, dry_run=req.dry_run
        )
        return ForgetResult(session_reset=reset)

    def list_memories(self, req: ListMemoriesRequest) -> MemoryPage:
        return self.client.list_memories(
            req.namespace, session_id=req.session_id, kind=req.kind, cursor=req.cursor, limit=req.limit
        )

    def get_memory(self, req: GetMemoryRequest) -> MemoryOut:
        return self.client.get_memory(req.memory_id)


async def serve_stdio(url: str, key: str) -> None:
    from mcp.server.stdio import stdio_server

    from memos import __version__

    with MemosClient(url, key) as client:
        server = build_server(SdkBackend(client), (MemosApiError,), version=__version__)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
