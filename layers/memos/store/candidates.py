"""Query candidates from L2: nearest by embedding, best full-text matches, nearest inside a time
range, and the memories governance keeps out (for ``include_filtered``), all under one filter."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from memos.models import QueryRequest
from memos.store import db
from memos.store.status import KEPT_OUT, LIVE, WITH_HISTORY, current_as_of

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_SELECT = (
    "SELECT id, session_id, role, kind, text, metadata, occurred_at, importance, tokens,"
    " base_importance, access_count, created_at, last_accessed_at, decay_half_life, decay_floor,"
    " 1 - (embedding <=> %(qvec)s) AS vsim FROM memories"
)


def _filters_sql(req: QueryRequest, status: str = LIVE) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"ns": req.namespace}
    if req.as_of is not None and status == LIVE:
        status = current_as_of()
        params["as_of"] = req.as_of
    elif req.history and status == LIVE:
        status = WITH_HISTORY
    clauses = ["namespace = %(ns)s", f"({status})"]
    if req.scope == "session":
        clauses.append("session_id = %(sid)s")
        params["sid"] = req.session_id
    f = req.filters
    if f is not None:
        if f.roles:
            clauses.append("role = ANY(%(roles)s)")
            params["roles"] = list(f.roles)
        if f.kinds:
            clauses.append("kind = ANY(%(kinds)s)")
            params["kinds"] = list(f.kinds)
        if f.session_ids:
            clauses.append("session_id = ANY(%(sids)s)")
            params["sids"] = list(f.session_ids)
        if f.since:
            clauses.append("occurred_at >= %(since)s")
            params["since"] = f.since
        if f.until:
            clauses.append("occurred_at <= %(until)s")
            params["until"] = f.until
        if f.metadata:
            clauses.append("metadata @> %(meta)s")
            params["meta"] = db.jsonb(f.metadata)
    return " AND ".join(clauses), params


def fetch(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    qvec: Any,
    limit: int,
    tsq: str,
    period: tuple[datetime, datetime] | None,
) -> list[dict[str, Any]]:
    """Candidate rows (``vsim`` = cosine similarity to the query); a memory may come more than once.

    ``tsq`` is an OR of query words for full text; ``period`` a [start, end) the question names."""
    where, params = _filters_sql(req)
    params.update(qvec=qvec, tsq=tsq, n=limit)
    # One HNSW graph serves every namespace: keep scanning past other tenants' neighbours
    # (pgvector 0.8 iterative scan) instead of returning too few after the namespace filter.
    conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100")
    rows = conn.execute(
        f"{_SELECT} WHERE {where} ORDER BY embedding <=> %(qvec)s LIMIT %(n)s", params
    ).fetchall()
    if tsq:
        # The two rarest words together first: few rows to rank even in a large namespace. Only
        # when that finds too little, any of the rarest words (ranking cost grows with matches).
        terms = tsq.split(" | ")
        lexical_rows: list[dict[str, Any]] = []
        if len(terms) >= 2:
            lexical_rows = _full_text(conn, where, {**params, "tsq": " & ".join(terms[:2])})
        if len(lexical_rows) < limit // 2:
            lexical_rows += _full_text(conn, where, params)
        rows += lexical_rows
    if period is not None:
        rows += conn.execute(
            f"{_SELECT} WHERE {where} AND occurred_at >= %(t0)s AND occurred_at < %(t1)s"
            " ORDER BY embedding <=> %(qvec)s LIMIT %(n)s",
            {**params, "t0": period[0], "t1": period[1]},
        ).fetchall()
    return rows


def _full_text(conn: psycopg.Connection[Any], where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return conn.execute(
        f"{_SELECT} WHERE {where} AND tsv @@ to_tsquery('english', %(tsq)s)"
        " ORDER BY ts_rank_cd(tsv, to_tsquery('english', %(tsq)s), 32) DESC LIMIT %(n)s",
        params,
    ).fetchall()


def kept_out(
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any, limit: int = 20
) -> list[dict[str, Any]]:
    """The nearest memories under the query's filters that governance keeps out (id, status)."""
    where, params = _filters_sql(req, status=KEPT_OUT)
    return conn.execute(
        f"SELECT id, status FROM memories WHERE {where} ORDER BY embedding <=> %(qvec)s LIMIT %(n)s",
        {**params, "qvec": qvec, "n": limit},
    ).fetchall()
