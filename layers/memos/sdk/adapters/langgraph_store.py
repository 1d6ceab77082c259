"""``MemosStore``: a LangGraph ``BaseStore`` whose items are MemOS memories.

Mapping: the namespace tuple joins with ``.`` into one MemOS namespace (``("users", "alice")`` is
``users.alice``); an item's key is its own session in that namespace (so items never dedup against
each other); the value rides in the memory's metadata and its ``text`` field (or its JSON) is what
retrieval indexes. Putting an existing key updates the memory in place (MemOS keeps the old version);
putting ``None`` deletes it. ``search(prefix, query=...)`` is MemOS retrieval over that one namespace,
ranked and scored; without a query it lists newest first. Listing namespaces is not supported.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from memos.models import NAME_PATTERN, MemoryOut
from memos.sdk.client import MemosClient

META = "langgraph"  # the metadata field that holds {"key", "value"}


def memos_namespace(namespace: tuple[str, ...]) -> str:
    name = ".".join(namespace)
    if not re.match(NAME_PATTERN, name):
        raise ValueError(f"namespace {namespace!r} does not make a MemOS namespace ({NAME_PATTERN})")
    return name


def session_for(key: str) -> str:
    """The key itself when it is a valid session id, else a stable hash of it."""
    return key if re.match(NAME_PATTERN, key) else "k-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _text(value: dict[str, Any]) -> str:
    text = value.get("text")
    return text if isinstance(text, str) and text.strip() else json.dumps(value, sort_keys=True, default=str)


def _fields(namespace: tuple[str, ...], memory: MemoryOut) -> dict[str, Any]:
    """What an ``Item`` holds of a memory stored through this adapter."""
    stored = memory.metadata.get(META) or {}
    return {
        "namespace": namespace,
        "key": str(stored.get("key", memory.session_id)),
        "value": dict(stored.get("value") or {"text": memory.text}),
        "created_at": memory.created_at,
        "updated_at": memory.created_at,
    }


def _item(namespace: tuple[str, ...], memory: MemoryOut, score: float | None = None) -> SearchItem:
    return SearchItem(**_fields(namespace, memory), score=score)


def _matches(value: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    return not flt or all(value.get(k) == v for k, v in flt.items())


class MemosStore(BaseStore):
    def __init__(self, client: MemosClient) -> None:
        self.client = client

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._one(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def _one(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            return self._get(op.namespace, op.key)
        if isinstance(op, PutOp):
            self._put(op.namespace, op.key, None if op.value is None else dict(op.value))
            return None
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            raise NotImplementedError("MemosStore cannot list namespaces: MemOS keys see namespaces by grant")
        raise TypeError(f"unknown store operation {op!r}")

    def _current(self, namespace: tuple[str, ...], key: str) -> MemoryOut | None:
        page = self.client.list_memories(memos_namespace(namespace), session_id=session_for(key), limit=1)
        return page.memories[0] if page.memories else None

    def _get(self, namespace: tuple[str, ...], key: str) -> Item | None:
        memory = self._current(namespace, key)
        if memory is None:
            return None
        return Item(**_fields(namespace, memory))

    def _put(self, namespace: tuple[str, ...], key: str, value: dict[str, Any] | None) -> None:
        memory = self._current(namespace, key)
        if value is None:
            if memory is not None:
                self.client.delete_memory(memory.memory_id)
            return
        metadata = {META: {"key": key, "value": value}}
        if memory is not None:
            self.client.update_memory(memory.memory_id, text=_text(value), metadata=metadata)
            return
        self.client.ingest(
            namespace=memos_namespace(namespace),
            session_id=session_for(key),
            role="agent",
            kind="episodic",
            text=_text(value),
            metadata=metadata,
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        ns = memos_namespace(op.namespace_prefix)
        wanted = op.offset + op.limit
        items: list[SearchItem] = []
        if op.query:
            resp = self.client.query(namespace=ns, query=op.query, top_k=min(100, wanted))
            for r in resp.results:
                stored = r.metadata.get(META) or {}
                value = dict(stored.get("value") or {"text": r.text})
                if _matches(value, op.filter):
                    items.append(
                        SearchItem(
                            namespace=op.namespace_prefix,
                            key=str(stored.get("key", r.session_id)),
                            value=value,
                            created_at=r.occurred_at,
                            updated_at=r.occurred_at,
                            score=r.score,
                        )
                    )
        else:
            for memory in self.client.iter_memories(ns):
                item = _item(op.namespace_prefix, memory)
                if _matches(item.value, op.filter):
                    items.append(item)
                if len(items) >= wanted:
                    break
        return items[op.offset : wanted]
