"""Context packs: the working memory an agent gets, fitted to a token budget, stored for replay.

Order: the session's latest summary, then its recent window (L1), then the chosen memories by
score. Each section may use what the previous ones left; a memory already in the window is not
repeated. What does not fit is reported as ``over_budget``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.kernel.tokens import count_tokens
from memos.models import ContextPack, QueryRequest, TokenUsage
from memos.store import context_packs
from memos.store import memories as memory_store
from memos.store.candidates import metadata_of

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

if TYPE_CHECKING:
    from memos.retrieval.scoring import Candidate

SUMMARY_SHARE, WINDOW_SHARE = 0.3, 0.3


def without_forgotten(conn: psycopg.Connection[Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The summary minus items whose every source memory was since deleted, expired or superseded:
    forgetting a memory also takes it out of what summaries hand to agents."""
    ids = {
        mid
        for items in summary.values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict)
        for mid in item.get("memory_ids") or []
    }
    if not ids:
        return summary
    live = memory_store.live_ids(conn, ids)
    out: dict[str, Any] = {}
    for key, items in summary.items():
        if isinstance(items, list) and items and isinstance(items[0], dict) and "memory_ids" in items[0]:
            out[key] = [i for i in items if not i.get("memory_ids") or set(i["memory_ids"]) & live]
        else:
            out[key] = items
    return out


def latest_summary(conn: psycopg.Connection[Any], namespace: str, session_id: str | None) -> str | None:
    if not session_id:
        return None
    return rendered_summary(conn, context_packs.latest_summary(conn, namespace, session_id))


def rendered_summary(conn: psycopg.Connection[Any], summary: dict[str, Any] | None) -> str | None:
    """A session's stored summary (``memos.store.context_packs.latest_summary``) as the pack shows it,
    without what was forgotten since."""
    if summary is None:
        return None
    from memos.governance.summarizer import render

    return render(without_forgotten(conn, summary)) or None


def _line(when: Any, role: str, text: str, session_id: str | None = None) -> str:
    """One memory on its own line, with its date and session: how raw retrieved context reads."""
    day = str(when)[:10]
    where = f", {session_id}" if session_id else ""
    return f"- [{day}{where}] {role}: {text}"


def _who(row: dict[str, Any]) -> str:
    speaker = (metadata_of(row) or {}).get("speaker")
    return speaker if isinstance(speaker, str) and speaker.strip() else str(row["role"])


def _group_header(session_id: str, when: Any) -> str:
    return f"### {session_id} {str(when)[:10]}"


def candidate_tokens(summary: str | None, window: list[dict[str, Any]], candidates: list[Candidate]) -> int:
    """Tokens of everything retrieval considered, rendered as the pack renders it: the raw context."""
    total = count_tokens(summary) if summary else 0
    if window:
        seen = {str(c.id) for c in candidates}
        total += sum(
            count_tokens(_line(t["occurred_at"], t["role"], t["text"]))
            for t in window
            if t["memory_id"] not in seen
        )
    # A candidate's text was counted at ingest (``tokens``): only its line prefix is counted here,
    # once per (day, role, session): candidates share most of them.
    prefixes: dict[tuple[Any, str, str | None], int] = {}
    for c in candidates:
        when = c.row["occurred_at"]  # its day as the line writes it (str(when)[:10]), computed once per key
        key = (
            when.date() if isinstance(when, datetime) else str(when)[:10],
            c.row["role"],
            c.row["session_id"],
        )
        if key not in prefixes:
            prefixes[key] = count_tokens(_line(when, key[1], "", key[2]))
        total += prefixes[key] + int(c.row["tokens"])
    return total


def build(
    req: QueryRequest,
    summary: str | None,
    window: list[dict[str, Any]],
    chosen: list[Candidate],
    budget: int,
    all_candidates: list[Candidate],
) -> tuple[ContextPack, list[UUID], TokenUsage]:
    parts: list[str] = []
    used = 0
    pack_summary = None
    if summary:
        header = "## Session summary"
        cost = count_tokens(header) + count_tokens(summary)
        if cost <= int(budget * SUMMARY_SHARE) or cost <= budget // 2:
            parts += [header, summary]
            used += cost
            pack_summary = summary

    window_out: list[dict[str, Any]] = []
    if window:
        header = "## Recent conversation"
        room = max(0, int(budget * (SUMMARY_SHARE + WINDOW_SHARE)) - used - count_tokens(header))
        lines: list[str] = []
        for turn in reversed(window):  # newest first until the share is spent
            line = f"- {turn['role']}: {turn['text']}"
            cost = count_tokens(line)
            if cost > room:
                break
            room -= cost
            lines.insert(0, line)
            window_out.insert(0, turn)
        if lines:
            parts += [header, *lines]
            used += count_tokens(header) + sum(count_tokens(x) for x in lines)

    # Chosen memories, grouped under one "### session date" header per group (groups in order of
    # their best score, memories in time order inside): the date and session are said once.
    in_window = {t["memory_id"] for t in window_out}
    items: list[dict[str, Any]] = []
    over: list[UUID] = []
    header = "## Relevant memories"
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in chosen:
        if str(c.id) in in_window:
            continue
        key = (c.row["session_id"], str(c.row["occurred_at"])[:10])
        line_cost = count_tokens(f"- {_who(c.row)}: {c.row['text']}")
        cost = line_cost + (0 if key in groups else count_tokens(_group_header(*key)))
        cost += 0 if groups else count_tokens(header)
        if used + cost > budget:
            over.append(c.id)
            continue
        used += cost
        groups.setdefault(key, []).append(c)
        items.append({"memory_id": str(c.id), "score": c.score, "tokens": line_cost})
    if groups:
        parts.append(header)
        for (session_id, _day), members in groups.items():
            members.sort(key=lambda c: c.row["occurred_at"])
            parts.append(_group_header(session_id, members[0].row["occurred_at"]))
            parts += [f"- {_who(c.row)}: {c.row['text']}" for c in members]

    text = "\n".join(parts)
    packed = count_tokens(text)
    candidates = max(candidate_tokens(summary, window, all_candidates), packed)
    saved = candidates - packed
    pack = ContextPack(
        id=uuid.uuid4(),
        text=text,
        tokens=packed,
        summary=pack_summary,
        l1_window=window_out,
        items=items,
        entities=[],
    )
    usage = TokenUsage(
        candidates=candidates,
        packed=packed,
        saved=saved,
        ratio=round(saved / candidates, 4) if candidates else 0.0,
    )
    return pack, over, usage
