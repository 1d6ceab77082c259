"""``/v1/ops/procedural``: the prompt and tool registry — live procedural memories and the tools
they declare (``metadata.tool``: a name or ``{name, description, parameters}``)."""

from __future__ import annotations

from typing import Any

from memos.models.ops import OpsProcedural, OpsProceduralMemory, OpsTool
from memos.ops.visible import Visible
from memos.store import db
from memos.store import ops as store


def tool_from(row: dict[str, Any]) -> OpsTool | None:
    """A tool entry from a procedural memory whose metadata names one (``tool``: name or object)."""
    meta = row["metadata"] or {}
    tool = meta.get("tool")
    spec = tool if isinstance(tool, dict) else {"name": tool}
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        return None
    description = spec.get("description") or meta.get("description") or row["text"]
    return OpsTool(
        name=name,
        description=str(description),
        namespace=row["namespace"],
        memory_id=row["id"],
        parameters=spec.get("parameters", meta.get("parameters")),
    )


def registry(tool_rows: list[dict[str, Any]]) -> list[OpsTool]:
    """Tools from rows newest first: the newest declaration of a name wins in its namespace."""
    tools: dict[tuple[str, str], OpsTool] = {}
    for r in tool_rows:
        tool = tool_from(r)
        if tool is not None:
            tools.setdefault((tool.namespace, tool.name), tool)
    return list(tools.values())


def procedural(visible: Visible, *, cursor: str | None, limit: int) -> OpsProcedural:
    """The prompt and tool registry: live procedural memories, and the tools they declare."""
    with db.connection() as conn:
        rows, next_cursor = store.procedural_page(conn, visible.scope, cursor=cursor, limit=limit)
        tool_rows = store.tool_declarations(conn, visible.scope)
        conn.rollback()
    return OpsProcedural(
        memories=[
            OpsProceduralMemory(
                memory_id=r["id"],
                namespace=r["namespace"],
                session_id=r["session_id"],
                text=r["text"],
                metadata=r["metadata"],
                importance=r["importance"],
                occurred_at=r["occurred_at"],
                created_at=r["created_at"],
            )
            for r in rows
        ],
        tools=registry(tool_rows),
        next_cursor=next_cursor,
    )
