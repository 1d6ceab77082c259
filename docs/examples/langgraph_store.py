"""A LangGraph graph whose node remembers and recalls through MemOS (the store is MemosStore).

Run against `memos dev`: MEMOS_URL=http://127.0.0.1:8080 MEMOS_API_KEY=... python docs/examples/langgraph_store.py
"""

from __future__ import annotations

import uuid
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from memos.sdk import MemosClient
from memos.sdk.adapters.langgraph_store import MemosStore


class State(TypedDict):
    user: str
    message: str
    recalled: list[str]


def remember_and_recall(state: State, *, store: BaseStore) -> dict[str, list[str]]:
    namespace = ("example", state["user"])
    store.put(namespace, f"note-{uuid.uuid4().hex[:8]}", {"text": state["message"]})
    hits = store.search(namespace, query="what drink does the user like?", limit=3)
    return {"recalled": [h.value["text"] for h in hits]}


def main() -> list[str]:
    store = MemosStore(MemosClient())  # $MEMOS_URL and $MEMOS_API_KEY
    builder = StateGraph(State)
    builder.add_node("memory", remember_and_recall)
    builder.add_edge(START, "memory")
    builder.add_edge("memory", END)
    graph = builder.compile(store=store)
    user = f"u{uuid.uuid4().hex[:8]}"
    out = graph.invoke({"user": user, "message": "The user likes oolong tea, never coffee.", "recalled": []})
    print(out["recalled"])
    return list(out["recalled"])


if __name__ == "__main__":
    assert any("oolong" in text for text in main())
