"""Ops reads in SQL: counts, token sums, throughput, the condensation pipeline, cursor pages.

Every read takes a ``Scope``: the namespaces it covers, as a WHERE fragment. Rows come back as
dicts; the ops package turns them into response models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store import db
from memos.store.paging import decode_cursor, encode_cursor, like_prefix
from memos.store.status import LIVE, JobStatus, MemoryStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

CONDENSATION_COLUMNS = (
    "id, job_id, namespace, session_id, from_turn, to_turn, status, summary, summary_text,"
    " tokens_before, tokens_after, error, created_at, completed_at"
)
AUDIT_COLUMNS = "id, at, namespace, session_id, action, actor, memory_id, request_id, details"
CONTEXT_PACK_COLUMNS = (
    "id, query_id, namespace, session_id, query, candidate_tokens, packed_tokens, created_at"
)
PROCEDURAL_COLUMNS = "id, namespace, session_id, text, metadata, importance, occurred_at, created_at"
TOOL_SCAN_LIMIT = 500  # newest procedural memories searched for tool declarations


@dataclass(frozen=True)
class Scope:
    """The namespaces a read covers: ``namespace`` if named, else every grant (names, ``prefix*``, ``*``)."""

    namespace: str | None
    grants: tuple[str, ...]

    def sql(self, column: str = "namespace") -> tuple[str, list[Any]]:
        """A WHERE fragment and its parameters. NULL namespaces pass only for an unfiltered ``*``."""
        if self.namespace is not None:
            return f"{column} = %s", [self.namespace]
        if "*" in self.grants:
            return "TRUE", []
        exact = [g for g in self.grants if not g.endswith("*")]
        prefixes = [like_prefix(g[:-1]) for g in self.grants if g.endswith("*")]
        return f"({column} = ANY(%s) OR {column} LIKE ANY(%s))", [exact, prefixes]


@dataclass(frozen=True)
class _Listing:
    """A newest-first cursor listing: its SELECT, its (time, id) order, the cursor's kind and id type."""

    select: str
    order: tuple[str, str]
    kind: str
    id_type: Callable[[str], Any]

    def newest(
        self, conn: psycopg.Connection[Any], where: list[str], params: list[Any], limit: int
    ) -> list[dict[str, Any]]:
        at_col, id_col = self.order
        return conn.execute(
            f"{self.select} WHERE {' AND '.join(where)} ORDER BY {at_col} DESC, {id_col} DESC LIMIT %s",
            [*params, limit],
        ).fetchall()

    def page(
        self,
        conn: psycopg.Connection[Any],
        where: list[str],
        params: list[Any],
        cursor: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Rows newest first by (time, id) after the cursor, and the cursor of the next page."""
        at_col, id_col = self.order
        where, params = list(where), list(params)
        if cursor:
            at, row_id = decode_cursor(self.kind, cursor, self.id_type)
            where.append(f"({at_col}, {id_col}) < (%s, %s)")
            params += [at, row_id]
        rows = self.newest(conn, where, params, limit + 1)
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(self.kind, rows[-1][at_col], rows[-1][id_col])


def _filtered(scope: Scope, *filters: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """The scope's condition and each (clause, value) whose value is given."""
    where_scope, params = scope.sql()
    where = [where_scope]
    for clause, value in filters:
        if value is not None:
            where.append(clause)
            params.append(value)
    return where, params


def _session_listing(table: str, columns: str) -> _Listing:
    return _Listing(f"SELECT {columns} FROM {table}", ("created_at", "id"), table, UUID)


_AUDIT = _Listing(f"SELECT {AUDIT_COLUMNS} FROM audit_events", ("at", "id"), "audit", int)
_PROCEDURAL = _Listing(
    f"SELECT {PROCEDURAL_COLUMNS} FROM memories", ("occurred_at", "id"), "procedural", UUID
)
_CONDENSATIONS = _session_listing("condensations", CONDENSATION_COLUMNS)


# --------------------------------------------------------------------------- figures


def memory_states(conn: psycopg.Connection[Any], scope: Scope) -> list[dict[str, Any]]:
    """(kind, state, n) for every row; an active row past its expires_at counts as expired."""
    where, params = scope.sql()
    return conn.execute(
        f"SELECT kind, CASE WHEN status = '{MemoryStatus.ACTIVE}' AND expires_at IS NOT NULL"
        f" AND expires_at <= now() THEN '{MemoryStatus.EXPIRED}' ELSE status END AS state, count(*) AS n"
        f" FROM memories WHERE {where} GROUP BY 1, 2",
        params,
    ).fetchall()


def context_pack_tokens(conn: psycopg.Connection[Any], scope: Scope) -> dict[str, Any]:
    """(n, tin, tout): context packs, their candidate tokens and their packed tokens."""
    where, params = scope.sql()
    row = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(candidate_tokens), 0) AS tin, COALESCE(sum(packed_tokens), 0) AS tout"
        f" FROM context_packs WHERE {where}",
        params,
    ).fetchone()
    assert row is not None  # aggregates always return a row
    return row


def condensation_tokens(conn: psycopg.Connection[Any], scope: Scope) -> dict[str, Any]:
    """(n, tin, tout): done condensations, their turns' tokens and their summaries' tokens."""
    where, params = scope.sql()
    row = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(tokens_before), 0) AS tin, COALESCE(sum(tokens_after), 0) AS tout"
        f" FROM condensations WHERE status = '{JobStatus.DONE}' AND tokens_before IS NOT NULL"
        f" AND tokens_after IS NOT NULL AND {where}",
        params,
    ).fetchone()
    assert row is not None
    return row


def l3_counts(conn: psycopg.Connection[Any], scope: Scope) -> dict[str, Any]:
    """(entities, relations) counts."""
    where, params = scope.sql()
    row = conn.execute(
        f"SELECT (SELECT count(*) FROM entities WHERE {where}) AS entities,"
        f" (SELECT count(*) FROM relations WHERE {where}) AS relations",
        params + params,
    ).fetchone()
    assert row is not None
    return row


def throughput(conn: psycopg.Connection[Any], scope: Scope, minutes: int) -> list[dict[str, Any]]:
    """(minute, ingested, queries) for the last ``minutes`` minutes, oldest first, zeros included."""
    where, params = scope.sql()
    return conn.execute(
        "WITH bounds AS (SELECT date_trunc('minute', now()) AS last,"
        " date_trunc('minute', now()) - make_interval(mins => %s) AS first),"
        " minutes AS (SELECT generate_series(first, last, interval '1 minute') AS minute FROM bounds),"
        " ingested AS (SELECT date_trunc('minute', at) AS minute,"
        "   sum(COALESCE((details->>'count')::bigint, 0)) AS n FROM audit_events, bounds"
        f"   WHERE action = 'ingest' AND at >= bounds.first AND {where} GROUP BY 1),"
        " queries AS (SELECT date_trunc('minute', created_at) AS minute, count(*) AS n"
        f"   FROM context_packs, bounds WHERE created_at >= bounds.first AND {where} GROUP BY 1)"
        " SELECT m.minute, COALESCE(i.n, 0) AS ingested, COALESCE(q.n, 0) AS queries FROM minutes m"
        " LEFT JOIN ingested i ON i.minute = m.minute LEFT JOIN queries q ON q.minute = m.minute"
        " ORDER BY m.minute",
        [minutes - 1, *params, *params],
    ).fetchall()


def ping() -> None:
    """Raises unless PostgreSQL answers."""
    with db.connection() as conn:
        conn.execute("SELECT 1").fetchone()
        conn.rollback()


def check_table(name: str) -> None:
    """Raises unless the table can be read."""
    with db.connection() as conn:
        conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchall()
        conn.rollback()


# --------------------------------------------------------------------------- pipeline


def pending_sessions(conn: psycopg.Connection[Any], scope: Scope) -> int:
    """Sessions with a condensation job enqueued and not yet done."""
    where, params = scope.sql()
    row = conn.execute(
        f"SELECT count(*) AS n FROM sessions WHERE condense_enqueued_turn > condensed_through_turn AND {where}",
        params,
    ).fetchone()
    assert row is not None
    return int(row["n"])


def condensations_by_status(conn: psycopg.Connection[Any], scope: Scope) -> dict[str, int]:
    where, params = scope.sql()
    rows = conn.execute(
        f"SELECT status, count(*) AS n FROM condensations WHERE {where} GROUP BY status", params
    ).fetchall()
    return {r["status"]: r["n"] for r in rows}


def recent_condensations(conn: psycopg.Connection[Any], scope: Scope, limit: int) -> list[dict[str, Any]]:
    return _CONDENSATIONS.newest(conn, *_filtered(scope), limit)


def recent_decay_runs(conn: psycopg.Connection[Any], scope: Scope, limit: int) -> list[dict[str, Any]]:
    """The newest ``decay`` audit events (one per run)."""
    return _AUDIT.newest(conn, *_filtered(scope, ("action = %s", "decay")), limit)


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to list (None: any)."""

    session_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_AUDIT = _Listing(f"SELECT {AUDIT_COLUMNS} FROM audit_events", ("at", "id"), "audit", int)
_PROCEDURAL = _Listing(
    f"SELECT {PROCEDURAL_COLUMNS} FROM memories", ("occurred_at", "id"), "procedural", UUID
)


def audit_page(
    conn: psycopg.Connection[Any], scope: Scope, filters: AuditFilter, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Audit events newest first, filtered, one cursor page."""
    where, params = _filtered(
        scope,
        ("session_id = %s", filters.session_id),
        ("action = %s", filters.action),
        ("at >= %s", filters.since),
        ("at < %s", filters.until),
    )
    return _AUDIT.page(conn, where, params, cursor, limit)


def _session_page(
    conn: psycopg.Connection[Any],
    scope: Scope,
    table: str,
    columns: str,
    session_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest-first rows of a per-session table in scope, one cursor page (the cursor names the table)."""
    where, params = _filtered(scope, ("session_id = %s", session_id))
    return _session_listing(table, columns).page(conn, where, params, cursor, limit)


def condensation_page(
    conn: psycopg.Connection[Any], scope: Scope, *, session_id: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    return _session_page(conn, scope, "condensations", CONDENSATION_COLUMNS, session_id, cursor, limit)


def context_pack_page(
    conn: psycopg.Connection[Any],
    scope: Scope,
    *,
    session_id: str | None,
    include_pack: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    columns = CONTEXT_PACK_COLUMNS + (", pack" if include_pack else "")
    return _session_page(conn, scope, "context_packs", columns, session_id, cursor, limit)


def _procedural_where(scope: Scope) -> tuple[list[str], list[Any]]:
    where_scope, params = scope.sql()
    return [where_scope, "kind = 'procedural'", LIVE], params


def procedural_page(
    conn: psycopg.Connection[Any], scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Live procedural memories, newest first by occurred_at, one cursor page."""
    where, params = _procedural_where(scope)
    return _PROCEDURAL.page(conn, where, params, cursor, limit)


def tool_declarations(conn: psycopg.Connection[Any], scope: Scope) -> list[dict[str, Any]]:
    """Live procedural memories whose metadata declares a ``tool``, newest first."""
    where, params = _procedural_where(scope)
    return conn.execute(
        f"SELECT {PROCEDURAL_COLUMNS} FROM memories WHERE {' AND '.join(where)} AND metadata ? 'tool'"
        f" ORDER BY occurred_at DESC, id DESC LIMIT {TOOL_SCAN_LIMIT}",
        params,
    ).fetchall()
