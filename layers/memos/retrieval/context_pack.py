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


def _window_line_cost(turn: dict[str, Any]) -> int:
    return count_tokens(f"- {turn['role']}: {turn['text']}")


def _group_header(session_id: str, when: Any) -> str:
    return f"### {session_id} {str(when)[:10]}"


def candidate_tokens(
    summary: str | None,
    window: list[dict[str, Any]],
    candidates: list[Candidate],
    window_costs: list[int] | None = None,
) -> int:
    """Tokens of everything retrieval considered, rendered as the pack renders it: the raw context.
    ``window_costs``: each window turn's pack line (``- role: text``) counted already (``build``)."""
    total = count_tokens(summary) if summary else 0
    if window:
        seen = {str(c.id) for c in candidates}
        if window_costs is None:
            window_costs = [_window_line_cost(t) for t in window]
        # ``_line`` is the pack line with "[day] " after its dash; a count splits at whitespace and
        # at every mark (``memos.kernel.tokens``), so it is the line's count plus the "[day]" one's.
        days: dict[str, int] = {}
        for t, cost in zip(window, window_costs, strict=True):
            if t["memory_id"] not in seen:
                day = str(t["occurred_at"])[:10]
                if day not in days:
                    days[day] = count_tokens(f"[{day}]")
                total += cost + days[day]
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
    window_costs = [_window_line_cost(t) for t in window]
    if window:
        header = "## Recent conversation"
        header_cost = count_tokens(header)
        room = max(0, int(budget * (SUMMARY_SHARE + WINDOW_SHARE)) - used - header_cost)
        lines: list[str] = []
        spent = 0
        for turn, cost in zip(reversed(window), reversed(window_costs), strict=True):  # newest first
            if cost > room:  # until the share is spent
                break
            room -= cost
            spent += cost
            lines.append(f"- {turn['role']}: {turn['text']}")
            window_out.append(turn)
        lines.reverse()
        window_out.reverse()
        if lines:
            parts += [header, *lines]
            used += header_cost + spent

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
    # The text's count is the sum of its parts' (``used``): a count splits at whitespace, so the
    # newlines joining them split nothing the parts' counts did not.
    packed = used
    candidates = max(candidate_tokens(summary, window, all_candidates, window_costs), packed)
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
