"""Ops reads: what MemOS holds and did, measured from the store, Redis and the queue (never made up).

Every read covers a ``Visible`` set of namespaces: the one the caller named, else everything its
key's grant allows (exact names, ``prefix*`` or ``*``). Audit events without a namespace (key
administration, denied requests) belong to no tenant and are shown only to ``*`` grants. Queue
figures count every tenant's jobs, so they too are shown only to ``*`` grants; the per-namespace
view of the pipeline comes from the database (sessions with a job pending, condensations).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
import redis
from pydantic import BaseModel

from memos.access.auth import Identity
from memos.kernel.config import get_settings
from memos.kernel.errors import BadRequest, MemosError, Unprocessable
from memos.memory.memories import LIVE
from memos.models import DependencyStatus
from memos.ops.health import probe
from memos.store import audit, db
from memos.working_memory import WorkingMemory

KINDS = ("episodic", "semantic", "procedural")
STATUSES = ("active", "duplicate", "superseded", "expired", "deleted")
THROUGHPUT_MINUTES = 60


# --------------------------------------------------------------------------- response models


class OpsTokenFigures(BaseModel):
    """Tokens in vs tokens out for one source; ratios are null when there is nothing to divide."""

    count: int
    tokens_in: int
    tokens_out: int
    saved: int
    savings_ratio: float | None  # saved / tokens_in (0..1), as in a query's token_usage.ratio
    compression_ratio: float | None  # tokens_in / tokens_out (e.g. 4.0 = four times smaller)


class OpsTokenSavings(BaseModel):
    context_packs: OpsTokenFigures  # candidate tokens vs packed tokens, one row per query
    condensations: OpsTokenFigures  # turns' tokens vs summary tokens, done condensations only
    combined: OpsTokenFigures


class OpsMemoryCounts(BaseModel):
    total: int  # live L2 memories (active and not past expires_at)
    by_kind: dict[str, int]  # live only
    by_status: dict[str, int]  # every row; an active row past its expires_at counts as expired


class OpsL1Counts(BaseModel):
    active_sessions: int | None  # null when Redis is unreachable


class OpsL2Counts(BaseModel):
    memories: int
    by_kind: dict[str, int]


class OpsL3Counts(BaseModel):
    entities: int
    relations: int


class OpsLayerCounts(BaseModel):
    L1: OpsL1Counts
    L2: OpsL2Counts
    L3: OpsL3Counts


class OpsThroughputPoint(BaseModel):
    minute: datetime
    ingested: int  # memories stored (sum of the ingest audit events' details.count)
    queries: int  # context packs built (one per query)


class OpsStats(BaseModel):
    namespace: str | None
    generated_at: datetime
    memories: OpsMemoryCounts
    layers: OpsLayerCounts
    active_contexts: int | None
    tokens: OpsTokenSavings
    health: dict[str, DependencyStatus]
    queue_depth: int | None
    throughput: list[OpsThroughputPoint]


class OpsQueue(BaseModel):
    available: bool
    scope: Literal["service"] = "service"  # SQS counts every tenant's jobs
    depth: int | None = None  # ApproximateNumberOfMessages
    in_flight: int | None = None  # ApproximateNumberOfMessagesNotVisible
    dead_lettered: int | None = None  # the DLQ's ApproximateNumberOfMessages
    detail: str | None = None


class OpsCondensation(BaseModel):
    id: UUID
    job_id: str
    namespace: str
    session_id: str
    from_turn: int
    to_turn: int
    status: str
    summary: Any
    summary_text: str | None
    tokens_before: int | None
    tokens_after: int | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class OpsAuditEvent(BaseModel):
    id: int
    at: datetime
    namespace: str | None
    session_id: str | None
    action: str
    actor: str | None
    memory_id: UUID | None
    request_id: str | None
    details: dict[str, Any]


class OpsPipeline(BaseModel):
    namespace: str | None
    queue: OpsQueue
    pending_sessions: int  # sessions with a condensation job enqueued and not yet done
    condensations_by_status: dict[str, int]
    recent_condensations: list[OpsCondensation]
    recent_decay_runs: list[OpsAuditEvent]


class OpsAuditPage(BaseModel):
    events: list[OpsAuditEvent]
    next_cursor: str | None


class OpsCondensationPage(BaseModel):
    condensations: list[OpsCondensation]
    next_cursor: str | None


class OpsContextPack(BaseModel):
    id: UUID
    query_id: UUID
    namespace: str
    session_id: str | None
    query: str
    candidate_tokens: int
    packed_tokens: int
    created_at: datetime
    pack: dict[str, Any] | None = None  # only with include_pack=true


class OpsContextPackPage(BaseModel):
    context_packs: list[OpsContextPack]
    next_cursor: str | None


class OpsProceduralMemory(BaseModel):
    memory_id: UUID
    namespace: str
    session_id: str
    text: str
    metadata: dict[str, Any]
    importance: float
    occurred_at: datetime
    created_at: datetime


class OpsTool(BaseModel):
    name: str
    description: str
    namespace: str
    memory_id: UUID
    parameters: Any = None


class OpsProcedural(BaseModel):
    memories: list[OpsProceduralMemory]
    tools: list[OpsTool]
    next_cursor: str | None


# --------------------------------------------------------------------------- what a read may cover


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Visible:
    """The namespaces one ops read covers: the one named, else the caller's whole grant."""

    namespace: str | None
    who: Identity

    @property
    def service_wide(self) -> bool:
        """May see figures that mix every tenant (queue depth)."""
        return "*" in self.who.namespaces

    def contains(self, namespace: str) -> bool:
        if self.namespace is not None:
            return namespace == self.namespace
        return self.who.can_see(namespace)

    def sql(self, column: str = "namespace") -> tuple[str, list[Any]]:
        """A WHERE fragment and its parameters. NULL namespaces pass only for an unfiltered ``*``."""
        if self.namespace is not None:
            return f"{column} = %s", [self.namespace]
        if self.service_wide:
            return "TRUE", []
        grants = self.who.namespaces
        exact = [g for g in grants if not g.endswith("*")]
        prefixes = [_like_prefix(g[:-1]) for g in grants if g.endswith("*")]
        return f"({column} = ANY(%s) OR {column} LIKE ANY(%s))", [exact, prefixes]


# --------------------------------------------------------------------------- cursors


def _encode_cursor(kind: str, at: datetime, row_id: Any) -> str:
    raw = json.dumps([kind, at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str, id_type: Callable[[str], Any]) -> tuple[datetime, Any]:
    """An opaque (timestamp, id) position; a cursor from another list or a tampered one is 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_kind, at, row_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if got_kind != kind or when.tzinfo is None:
            raise ValueError(kind)
        return when, id_type(row_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


def _paged(
    conn: psycopg.Connection[Any],
    *,
    select: str,
    where: list[str],
    params: list[Any],
    order: tuple[str, str],
    kind: str,
    cursor: str | None,
    limit: int,
    id_type: Callable[[str], Any],
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows newest first by (time, id) after the cursor, and the cursor of the next page."""
    at_col, id_col = order
    where, params = list(where), list(params)
    if cursor:
        at, row_id = _decode_cursor(kind, cursor, id_type)
        where.append(f"({at_col}, {id_col}) < (%s, %s)")
        params += [at, row_id]
    rows = conn.execute(
        f"{select} WHERE {' AND '.join(where)} ORDER BY {at_col} DESC, {id_col} DESC LIMIT %s",
        [*params, limit + 1],
    ).fetchall()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode_cursor(kind, rows[-1][at_col], rows[-1][id_col])


# --------------------------------------------------------------------------- stats


def _figures(count: int, tokens_in: int, tokens_out: int) -> OpsTokenFigures:
    saved = tokens_in - tokens_out
    return OpsTokenFigures(
        count=count,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        saved=saved,
        savings_ratio=round(saved / tokens_in, 4) if tokens_in else None,
        compression_ratio=round(tokens_in / tokens_out, 4) if tokens_out else None,
    )


def _memory_counts(conn: psycopg.Connection[Any], visible: Visible) -> OpsMemoryCounts:
    scope, params = visible.sql()
    rows = conn.execute(
        "SELECT kind, CASE WHEN status = 'active' AND expires_at IS NOT NULL AND expires_at <= now()"
        " THEN 'expired' ELSE status END AS state, count(*) AS n"
        f" FROM memories WHERE {scope} GROUP BY 1, 2",
        params,
    ).fetchall()
    by_kind = dict.fromkeys(KINDS, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for r in rows:
        by_status[r["state"]] = by_status.get(r["state"], 0) + r["n"]
        if r["state"] == "active":
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["n"]
    return OpsMemoryCounts(total=sum(by_kind.values()), by_kind=by_kind, by_status=by_status)


def _token_savings(conn: psycopg.Connection[Any], visible: Visible) -> OpsTokenSavings:
    scope, params = visible.sql()
    packs = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(candidate_tokens), 0) AS tin, COALESCE(sum(packed_tokens), 0) AS tout"
        f" FROM context_packs WHERE {scope}",
        params,
    ).fetchone()
    summaries = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(tokens_before), 0) AS tin, COALESCE(sum(tokens_after), 0) AS tout"
        " FROM condensations WHERE status = 'done' AND tokens_before IS NOT NULL AND tokens_after IS NOT NULL"
        f" AND {scope}",
        params,
    ).fetchone()
    assert packs is not None and summaries is not None  # aggregates always return a row
    a = _figures(packs["n"], int(packs["tin"]), int(packs["tout"]))
    b = _figures(summaries["n"], int(summaries["tin"]), int(summaries["tout"]))
    return OpsTokenSavings(
        context_packs=a,
        condensations=b,
        combined=_figures(a.count + b.count, a.tokens_in + b.tokens_in, a.tokens_out + b.tokens_out),
    )


def _l3_counts(conn: psycopg.Connection[Any], visible: Visible) -> OpsL3Counts:
    scope, params = visible.sql()
    row = conn.execute(
        f"SELECT (SELECT count(*) FROM entities WHERE {scope}) AS entities,"
        f" (SELECT count(*) FROM relations WHERE {scope}) AS relations",
        params + params,
    ).fetchone()
    assert row is not None
    return OpsL3Counts(entities=row["entities"], relations=row["relations"])


def _throughput(conn: psycopg.Connection[Any], visible: Visible) -> list[OpsThroughputPoint]:
    """Per minute over the last hour (oldest first, every minute present, zeros included)."""
    scope, params = visible.sql()
    rows = conn.execute(
        "WITH bounds AS (SELECT date_trunc('minute', now()) AS last,"
        " date_trunc('minute', now()) - make_interval(mins => %s) AS first),"
        " minutes AS (SELECT generate_series(first, last, interval '1 minute') AS minute FROM bounds),"
        " ingested AS (SELECT date_trunc('minute', at) AS minute,"
        "   sum(COALESCE((details->>'count')::bigint, 0)) AS n FROM audit_events, bounds"
        f"   WHERE action = 'ingest' AND at >= bounds.first AND {scope} GROUP BY 1),"
        " queries AS (SELECT date_trunc('minute', created_at) AS minute, count(*) AS n"
        f"   FROM context_packs, bounds WHERE created_at >= bounds.first AND {scope} GROUP BY 1)"
        " SELECT m.minute, COALESCE(i.n, 0) AS ingested, COALESCE(q.n, 0) AS queries FROM minutes m"
        " LEFT JOIN ingested i ON i.minute = m.minute LEFT JOIN queries q ON q.minute = m.minute"
        " ORDER BY m.minute",
        [THROUGHPUT_MINUTES - 1, *params, *params],
    ).fetchall()
    return [
        OpsThroughputPoint(minute=r["minute"], ingested=r["ingested"], queries=r["queries"]) for r in rows
    ]


def _active_sessions(visible: Visible) -> int | None:
    try:
        return WorkingMemory().active_sessions(visible.contains)
    except (redis.RedisError, MemosError):
        return None  # the L1 health entry says why


def _layer_health() -> dict[str, DependencyStatus]:
    def table(name: str) -> Callable[[], None]:
        def check() -> None:
            with db.connection() as conn:
                conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchall()
                conn.rollback()

        return check

    return {
        "L1": probe(lambda: WorkingMemory().client.ping()),
        "L2": probe(table("memories")),
        "L3": probe(table("entities")),
    }


def stats(visible: Visible) -> OpsStats:
    with db.connection() as conn:
        memories = _memory_counts(conn, visible)
        tokens = _token_savings(conn, visible)
        l3 = _l3_counts(conn, visible)
        throughput = _throughput(conn, visible)
        conn.rollback()
    active = _active_sessions(visible)
    return OpsStats(
        namespace=visible.namespace,
        generated_at=datetime.now(UTC),
        memories=memories,
        layers=OpsLayerCounts(
            L1=OpsL1Counts(active_sessions=active),
            L2=OpsL2Counts(memories=memories.total, by_kind=memories.by_kind),
            L3=l3,
        ),
        active_contexts=active,
        tokens=tokens,
        health=_layer_health(),
        queue_depth=queue_status(visible).depth,
        throughput=throughput,
    )


# --------------------------------------------------------------------------- pipeline


def _queue_counts(url: str, names: list[str]) -> dict[str, int]:
    from memos.governance.trigger import sqs_client

    attrs = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {k: int(v) for k, v in attrs.items()}


def queue_status(visible: Visible) -> OpsQueue:
    """SQS figures; an unset, unreachable or (for a tenant key) cross-tenant queue is 'unavailable'."""
    settings = get_settings()
    if not visible.service_wide:
        return OpsQueue(
            available=False, detail="queue figures span every tenant: they need a key granted '*'"
        )
    if not settings.condense_queue_url:
        return OpsQueue(available=False, detail="no condensation queue is configured")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        main = _queue_counts(
            settings.condense_queue_url,
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        dlq = (
            _queue_counts(settings.condense_dlq_url, ["ApproximateNumberOfMessages"])
            if settings.condense_dlq_url
            else None
        )
    except (BotoCoreError, ClientError) as exc:
        return OpsQueue(available=False, detail=f"the queue is unreachable ({type(exc).__name__})")
    return OpsQueue(
        available=True,
        depth=main.get("ApproximateNumberOfMessages", 0),
        in_flight=main.get("ApproximateNumberOfMessagesNotVisible", 0),
        dead_lettered=dlq.get("ApproximateNumberOfMessages", 0) if dlq is not None else None,
    )


_CONDENSATION_COLUMNS = (
    "id, job_id, namespace, session_id, from_turn, to_turn, status, summary, summary_text,"
    " tokens_before, tokens_after, error, created_at, completed_at"
)
_AUDIT_COLUMNS = "id, at, namespace, session_id, action, actor, memory_id, request_id, details"


def pipeline(visible: Visible, limit: int) -> OpsPipeline:
    scope, params = visible.sql()
    with db.connection() as conn:
        pending = conn.execute(
            f"SELECT count(*) AS n FROM sessions WHERE condense_enqueued_turn > condensed_through_turn AND {scope}",
            params,
        ).fetchone()
        by_status = dict.fromkeys(("pending", "done", "failed"), 0)
        for r in conn.execute(
            f"SELECT status, count(*) AS n FROM condensations WHERE {scope} GROUP BY status", params
        ).fetchall():
            by_status[r["status"]] = r["n"]
        recent = conn.execute(
            f"SELECT {_CONDENSATION_COLUMNS} FROM condensations WHERE {scope}"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            [*params, limit],
        ).fetchall()
        decay = conn.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_events WHERE action = 'decay' AND {scope}"
            " ORDER BY at DESC, id DESC LIMIT %s",
            [*params, limit],
        ).fetchall()
        conn.rollback()
    assert pending is not None
    return OpsPipeline(
        namespace=visible.namespace,
        queue=queue_status(visible),
        pending_sessions=pending["n"],
        condensations_by_status=by_status,
        recent_condensations=[OpsCondensation.model_validate(r) for r in recent],
        recent_decay_runs=[OpsAuditEvent.model_validate(r) for r in decay],
    )


# --------------------------------------------------------------------------- lists


def audit_events(
    visible: Visible,
    *,
    session_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> OpsAuditPage:
    if action is not None and action not in audit.ACTIONS:
        raise Unprocessable(
            "unknown audit action",
            details=[{"field": "action", "message": f"one of {', '.join(sorted(audit.ACTIONS))}"}],
        )
    if since and until and since > until:
        raise Unprocessable("since is after until", details=[{"field": "since", "message": "after until"}])
    scope, params = visible.sql()
    where = [scope]
    for clause, value in (
        ("session_id = %s", session_id),
        ("action = %s", action),
        ("at >= %s", since),
        ("at < %s", until),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    with db.connection() as conn:
        rows, next_cursor = _paged(
            conn,
            select=f"SELECT {_AUDIT_COLUMNS} FROM audit_events",
            where=where,
            params=params,
            order=("at", "id"),
            kind="audit",
            cursor=cursor,
            limit=limit,
            id_type=int,
        )
        conn.rollback()
    return OpsAuditPage(events=[OpsAuditEvent.model_validate(r) for r in rows], next_cursor=next_cursor)


def _session_page(
    visible: Visible, *, table: str, columns: str, session_id: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest-first rows of a per-session table the caller may see, one cursor page."""
    scope, params = visible.sql()
    where = [scope]
    if session_id is not None:
        where.append("session_id = %s")
        params.append(session_id)
    with db.connection() as conn:
        page = _paged(
            conn,
            select=f"SELECT {columns} FROM {table}",
            where=where,
            params=params,
            order=("created_at", "id"),
            kind=table,
            cursor=cursor,
            limit=limit,
            id_type=UUID,
        )
        conn.rollback()
    return page


def condensations(
    visible: Visible, *, session_id: str | None, cursor: str | None, limit: int
) -> OpsCondensationPage:
    rows, next_cursor = _session_page(
        visible,
        table="condensations",
        columns=_CONDENSATION_COLUMNS,
        session_id=session_id,
        cursor=cursor,
        limit=limit,
    )
    return OpsCondensationPage(
        condensations=[OpsCondensation.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def context_packs(
    visible: Visible, *, session_id: str | None, include_pack: bool, cursor: str | None, limit: int
) -> OpsContextPackPage:
    columns = "id, query_id, namespace, session_id, query, candidate_tokens, packed_tokens, created_at"
    if include_pack:
        columns += ", pack"
    rows, next_cursor = _session_page(
        visible, table="context_packs", columns=columns, session_id=session_id, cursor=cursor, limit=limit
    )
    return OpsContextPackPage(
        context_packs=[OpsContextPack.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def _tool(row: dict[str, Any]) -> OpsTool | None:
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


def procedural(visible: Visible, *, cursor: str | None, limit: int) -> OpsProcedural:
    """The prompt and tool registry: live procedural memories, and the tools they declare."""
    scope, params = visible.sql()
    columns = "id, namespace, session_id, text, metadata, importance, occurred_at, created_at"
    where = [scope, "kind = 'procedural'", LIVE]
    with db.connection() as conn:
        rows, next_cursor = _paged(
            conn,
            select=f"SELECT {columns} FROM memories",
            where=where,
            params=params,
            order=("occurred_at", "id"),
            kind="procedural",
            cursor=cursor,
            limit=limit,
            id_type=UUID,
        )
        tool_rows = conn.execute(
            f"SELECT {columns} FROM memories WHERE {' AND '.join(where)} AND metadata ? 'tool'"
            " ORDER BY occurred_at DESC, id DESC LIMIT 500",
            params,
        ).fetchall()
        conn.rollback()
    tools: dict[tuple[str, str], OpsTool] = {}
    for r in tool_rows:  # newest first: the newest declaration of a tool name wins in its namespace
        tool = _tool(r)
        if tool is not None:
            tools.setdefault((tool.namespace, tool.name), tool)
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
        tools=list(tools.values()),
        next_cursor=next_cursor,
    )
