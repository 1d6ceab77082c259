"""A LangChain chat history kept in MemOS: messages survive the process, and MemOS can recall them.

Run against `memos dev`: MEMOS_URL=http://127.0.0.1:8080 MEMOS_API_KEY=... python docs/examples/langchain_history.py
"""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessage, HumanMessage

from memos.sdk import MemosClient
from memos.sdk.adapters.langchain_history import MemosChatMessageHistory


def main() -> None:
    client = MemosClient()  # $MEMOS_URL and $MEMOS_API_KEY
    session = f"chat-{uuid.uuid4().hex[:8]}"
    history = MemosChatMessageHistory(client, "example-chat", session)
    history.add_messages(
        [HumanMessage("My flight to Lisbon leaves on Friday."), AIMessage("Noted: Lisbon, Friday.")]
    )
    print([(m.type, m.text) for m in history.messages])
    assert [m.type for m in history.messages] == ["human", "ai"]
    # The same memories serve retrieval for any agent with the key:
    hit = client.query(namespace="example-chat", query="when is the flight to Lisbon?").results[0]
    print(hit.text, round(hit.score, 3))
    history.clear()
    assert history.messages == []


if __name__ == "__main__":
    main()
