"""Query: hybrid candidates (pgvector ANN + full text + the session's L1 window), scored with
explained components, then fitted into a context pack.

score = Σ_c w_c · c / Σ_c w_c over components c in [0, 1] (weights from the namespace policy):
  vector     cosine similarity of query and memory embeddings (clipped at 0)
  lexical    full-text rank (ts_rank_cd) relative to the best lexical match among the candidates
  recency    2^(-age / half_life) of the event time (occurred_at)
  importance the memory's current importance
  entity     share of the query's entities the memory mentions (L3; 0 until entities exist)
  session    1 when the memory belongs to the asking session
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from memos import context_pack, db, long_term, policies
from memos.embeddings import get_embedder
from memos.models import FilteredCandidate, Layer, QueryRequest, QueryResponse, QueryResult
from memos.observability import metrics
from memos.policy import Policy
from memos.text import STOPWORDS, words
from memos.working_memory import WorkingMemory

CANDIDATE_FLOOR = 40  # candidates per retriever, at least; more for larger top_k

_SELECT = (
    "SELECT id, session_id, role, kind, text, metadata, occurred_at, importance, tokens,"
    " 1 - (embedding <=> %(qvec)s) AS vsim, {lex} AS lex FROM memories"
)


@dataclass
class Candidate:
    row: dict[str, Any]
    layer: Layer = "L2"
    components: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def id(self) -> UUID:
        return self.row["id"]


def tsquery_text(query: str) -> str:
    """OR of the query's content words: recall first, ranking sorts it out."""
    terms = [w for w in words(query) if w.isascii() and w.isalnum() and w not in STOPWORDS]
    return " | ".join(dict.fromkeys(terms))


def _filters_sql(req: QueryRequest) -> tuple[str, dict[str, Any]]:
    clauses = ["namespace = %(ns)s", "status = 'active'", "(expires_at IS NULL OR expires_at > now())"]
    params: dict[str, Any] = {"ns": req.namespace}
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


def fetch_candidates(
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any, limit: int
) -> list[dict[str, Any]]:
    where, params = _filters_sql(req)
    tsq = tsquery_text(req.query)
    params.update(qvec=qvec, tsq=tsq, n=limit)
    lex = "ts_rank_cd(tsv, to_tsquery('english', %(tsq)s), 32)" if tsq else "0.0::real"
    select = _SELECT.format(lex=lex)
    rows = conn.execute(
        f"{select} WHERE {where} ORDER BY embedding <=> %(qvec)s LIMIT %(n)s", params
    ).fetchall()
    if tsq:
        rows += conn.execute(
            f"{select} WHERE {where} AND tsv @@ to_tsquery('english', %(tsq)s) ORDER BY lex DESC LIMIT %(n)s",
            params,
        ).fetchall()
    return rows


def score_candidates(cands: list[Candidate], req: QueryRequest, policy: Policy, now: datetime) -> None:
    w = policy.weights.model_dump()
    total_w = sum(w.values()) or 1.0
    best_lex = max((float(c.row["lex"]) for c in cands), default=0.0) or 1.0
    half_life_s = policy.decay_half_life_days * 86_400
    for c in cands:
        age_s = max(0.0, (now - c.row["occurred_at"]).total_seconds())
        comp = {
            "vector": max(0.0, float(c.row["vsim"])),
            "lexical": float(c.row["lex"]) / best_lex,
            "recency": math.pow(2.0, -age_s / half_life_s),
            "importance": float(c.row["importance"]),
            "entity": 0.0,
            "session": 1.0 if req.session_id and c.row["session_id"] == req.session_id else 0.0,
        }
        c.components = {k: round(v, 4) for k, v in comp.items()}
        c.score = round(sum(w[k] * v for k, v in comp.items()) / total_w, 4)


def query(req: QueryRequest, *, l1: WorkingMemory | None = None) -> QueryResponse:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    policy = policies.get_policy(req.namespace)
    budget = req.token_budget or policy.default_token_budget
    qvec = get_embedder().embed([req.query])[0]
    timings["embed"] = _ms(t0)
    now = datetime.now(UTC)
    l1 = l1 or WorkingMemory()

    with db.connection() as conn:
        t = time.perf_counter()
        rows = fetch_candidates(conn, req, qvec, max(CANDIDATE_FLOOR, req.top_k * 4))
        timings["candidates"] = _ms(t)
        window: list[dict[str, Any]] = []
        if req.session_id:
            t = time.perf_counter()
            window, source = l1.window(
                req.namespace,
                req.session_id,
                policy.l1_window_size,
                policy.l1_ttl_seconds,
                lambda ns, sid, n: long_term.recent_turns(conn, ns, sid, n),
            )
            if source == "l1":  # a cached window may hold a turn forgotten since; L2 decides
                window = long_term.only_live(conn, window)
            timings["l1"] = _ms(t)
        summary = context_pack.latest_summary(conn, req.namespace, req.session_id)

        unique: dict[UUID, Candidate] = {}
        for row in rows:
            unique.setdefault(row["id"], Candidate(row))
        window_ids = {w["memory_id"] for w in window}
        for c in unique.values():
            if str(c.id) in window_ids:
                c.layer = "L1"
        cands = list(unique.values())
        score_candidates(cands, req, policy, now)
        cands.sort(key=lambda c: (-c.score, str(c.id)))

        filtered: list[FilteredCandidate] = []
        kept: list[Candidate] = []
        for c in cands:
            if c.score < policy.min_score:
                filtered.append(FilteredCandidate(memory_id=c.id, reason="below_threshold"))
            elif len(kept) >= req.top_k:
                filtered.append(FilteredCandidate(memory_id=c.id, reason="not_in_top_k"))
            else:
                kept.append(c)

        t = time.perf_counter()
        pack, over_budget, usage = context_pack.build(
            req,
            summary,
            window if req.session_id else [],
            kept,
            budget,
            all_candidates=cands,
        )
        filtered.extend(FilteredCandidate(memory_id=mid, reason="over_budget") for mid in over_budget)
        query_id = uuid.uuid4()
        context_pack.store(conn, query_id, req, pack, usage)
        long_term.touch(conn, [c.id for c in kept])
        conn.commit()
        timings["pack"] = _ms(t)

    timings["total"] = _ms(t0)
    metrics.add_metric(name="Queries", unit="Count", value=1)
    return QueryResponse(
        query_id=query_id,
        results=[
            QueryResult(
                memory_id=c.id,
                layer=c.layer,
                kind=c.row["kind"],
                session_id=c.row["session_id"],
                role=c.row["role"],
                text=c.row["text"],
                occurred_at=c.row["occurred_at"],
                metadata=c.row["metadata"],
                score=c.score,
                components=c.components,
            )
            for c in kept
        ],
        filtered=filtered if req.include_filtered else [],
        context_pack=pack,
        token_usage=usage,
        timings_ms=timings,
    )


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)
