"""``MemosChatMessageHistory``: a LangChain chat message history kept as a MemOS session.

Each message is one episodic memory (human → user, ai → assistant, system, tool); reads return the
session's live memories oldest first. ``clear()`` resets the session everywhere (L1, memories,
summaries). MemOS deduplicates: a message repeated verbatim within a session's recent turns is stored
once (linked as a duplicate), so it appears once in ``messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from memos.models import MemoryOut, Role
from memos.sdk.client import MemosClient

_ROLE: dict[str, Role] = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def _message(memory: MemoryOut) -> BaseMessage:
    if memory.role == "user":
        return HumanMessage(memory.text, id=str(memory.memory_id))
    if memory.role == "system":
        return SystemMessage(memory.text, id=str(memory.memory_id))
    if memory.role == "tool":
        call_id = str(memory.metadata.get("tool_call_id", ""))
        return ToolMessage(memory.text, tool_call_id=call_id, id=str(memory.memory_id))
    return AIMessage(memory.text, id=str(memory.memory_id))


class MemosChatMessageHistory(BaseChatMessageHistory):
    def __init__(self, client: MemosClient, namespace: str, session_id: str) -> None:
        self.client, self.namespace, self.session_id = client, namespace, session_id

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        memories = list(self.client.iter_memories(self.namespace, session_id=self.session_id))
        memories.sort(key=lambda m: (m.occurred_at, m.created_at))
        return [_message(m) for m in memories]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        if not messages:
            return
        start = datetime.now(UTC)
        items = []
        for i, message in enumerate(messages):
            metadata = {"lc_type": message.type}
            if isinstance(message, ToolMessage):
                metadata["tool_call_id"] = message.tool_call_id
            items.append(
                {
                    "session_id": self.session_id,
                    "role": _ROLE.get(message.type, "agent"),
                    "text": message.text if hasattr(message, "text") else str(message.content),
                    "metadata": metadata,
                    # Strictly increasing event times keep the order of one batch on read.
                    "occurred_at": (start + timedelta(microseconds=i)).isoformat(),
                }
            )
        self.client.ingest(namespace=self.namespace, items=items)

    def clear(self) -> None:
        self.client.reset_session(namespace=self.namespace, session_id=self.session_id, confirm=True)
