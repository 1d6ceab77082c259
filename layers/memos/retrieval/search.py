"""Query: hybrid candidates, scored with explained components, fitted into a context pack.

Candidates (per namespace, or per session with scope=session, after filters): the nearest
memories by embedding (pgvector), the best full-text matches (PostgreSQL FTS, an OR of the
query's words that are not near-ubiquitous in the namespace), the nearest memories inside the
time range the question names, and the asking session's L1 window.

    score = Σ_c w_c · c / Σ_c w_c      over the components that apply (weights: namespace policy)

  vector      cosine similarity, min-max scaled over the candidates (best = 1, worst = 0): embedders
              differ in scale (static vectors of unrelated texts still score ~0.8)
  lexical     Okapi BM25 with the namespace's own term statistics, relative to the best candidate's
  recency     2^(-(newest event time among candidates - this one's) / recency_half_life)
  importance  the memory's current importance (ingest signals, access, decay)
  entity      share of the query's known entities (L3) this memory is evidence for
  session     1 for the asking session's memories (applies when the query names a session)
  temporal    1 inside the time range the question names ("in May 2023", "last week"), decaying
              with distance outside it (applies only when the question names a time)
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from memos.embeddings import get_embedder
from memos.governance import entities, policy_store
from memos.governance.policy import Policy
from memos.kernel.observability import metrics
from memos.kernel.text import STOPWORDS, content_terms, stem, words
from memos.models import FilteredCandidate, Layer, QueryRequest, QueryResponse, QueryResult
from memos.retrieval import context_pack, lexical
from memos.retrieval.timeexpr import TimeRange, parse_time_range
from memos.store import db, long_term
from memos.working_memory import WorkingMemory

CANDIDATE_FLOOR = 40  # candidates per retriever, at least; more for larger top_k
UBIQUITOUS = 0.3  # words in more than this share of a namespace's memories do not select candidates
LEXICAL_TERMS = 4  # the rarest query words that select full-text candidates

_SELECT = (
    "SELECT id, session_id, role, kind, text, metadata, occurred_at, importance, tokens,"
    " 1 - (embedding <=> %(qvec)s) AS vsim FROM memories"
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


def tsquery_text(query: str, stats: lexical.Stats | None = None) -> str:
    """OR of the query's rarest content words (recall first; BM25 ranks afterwards).

    Words in more than UBIQUITOUS of the namespace select nothing useful, and only the
    LEXICAL_TERMS rarest words select candidates: in a large namespace every extra common word
    multiplies the rows PostgreSQL must rank before its LIMIT (docs/BENCHMARKS.md).
    """
    terms = list(dict.fromkeys(w for w in words(query) if w.isascii() and w.isalnum() and w not in STOPWORDS))
    if stats is not None and stats.docs >= 20:
        terms = [w for w in terms if stats.df.get(stem(w), 0) / stats.docs <= UBIQUITOUS]
        terms = sorted(terms, key=lambda w: stats.df.get(stem(w), 0))[:LEXICAL_TERMS]
    return " | ".join(terms)


# Memories governance keeps out of retrieval, but that ``include_filtered`` explains.
KEPT_OUT = "(status IN ('duplicate', 'superseded', 'expired') OR (status = 'active' AND expires_at <= now()))"


def _filters_sql(req: QueryRequest, status: str = long_term.LIVE) -> tuple[str, dict[str, Any]]:
    clauses = ["namespace = %(ns)s", f"({status})"]
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
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any, limit: int, tsq: str, when: TimeRange | None
) -> list[dict[str, Any]]:
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
    if when is not None:
        rows += conn.execute(
            f"{_SELECT} WHERE {where} AND occurred_at >= %(t0)s AND occurred_at < %(t1)s"
            " ORDER BY embedding <=> %(qvec)s LIMIT %(n)s",
            {**params, "t0": when.start, "t1": when.end},
        ).fetchall()
    return rows


def kept_out_by_governance(
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any
) -> list[FilteredCandidate]:
    """Memories near the query that governance keeps out of retrieval, with the reason:
    ``duplicate`` (linked to its original), ``superseded`` (a newer fact replaced it) or ``expired``
    (decay or TTL). Deleted memories are forgotten and never listed."""
    where, params = _filters_sql(req, status=KEPT_OUT)
    rows = conn.execute(
        f"SELECT id, status FROM memories WHERE {where} ORDER BY embedding <=> %(qvec)s LIMIT 20",
        {**params, "qvec": qvec},
    ).fetchall()
    return [
        FilteredCandidate(memory_id=r["id"], reason="expired" if r["status"] == "active" else r["status"])
        for r in rows
    ]


def _full_text(conn: psycopg.Connection[Any], where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return conn.execute(
        f"{_SELECT} WHERE {where} AND tsv @@ to_tsquery('english', %(tsq)s)"
        " ORDER BY ts_rank_cd(tsv, to_tsquery('english', %(tsq)s), 32) DESC LIMIT %(n)s",
        params,
    ).fetchall()


def score_candidates(
    cands: list[Candidate],
    req: QueryRequest,
    policy: Policy,
    stats: lexical.Stats,
    when: TimeRange | None,
    entity_overlap: dict[UUID, float],
) -> None:
    w = policy.weights.model_dump()
    if not req.session_id:
        w.pop("session")
    if when is None:
        w.pop("temporal")
    total_w = sum(w.values()) or 1.0
    qterms = content_terms(req.query)
    bm = {
        c.id: lexical.bm25(
            qterms, content_terms(lexical.indexed_text(c.row["text"], c.row["metadata"])), stats
        )
        for c in cands
    }
    best_bm = max(bm.values(), default=0.0) or 1.0
    sims = [float(c.row["vsim"]) for c in cands]
    low_v, best_v = (min(sims), max(sims)) if sims else (0.0, 1.0)
    span_v = best_v - low_v if best_v > low_v else 1.0
    newest = max((c.row["occurred_at"] for c in cands), default=None)
    half_life_s = policy.recency_half_life_days * 86_400
    width = max(1.0, (when.end - when.start).total_seconds() / 86_400) if when else 1.0
    for c in cands:
        comp = {
            "vector": (float(c.row["vsim"]) - low_v) / span_v if len(cands) > 1 else 1.0,
            "lexical": bm[c.id] / best_bm,
            "recency": math.pow(2.0, -(newest - c.row["occurred_at"]).total_seconds() / half_life_s)
            if newest
            else 0.0,
            "importance": float(c.row["importance"]),
            "entity": entity_overlap.get(c.id, 0.0),
        }
        if "session" in w:
            comp["session"] = 1.0 if c.row["session_id"] == req.session_id else 0.0
        if when is not None:
            comp["temporal"] = math.pow(2.0, -when.distance_days(c.row["occurred_at"]) / width)
        c.components = {k: round(v, 4) for k, v in comp.items()}
        c.score = round(sum(w[k] * v for k, v in comp.items()) / total_w, 4)


def query(req: QueryRequest, *, l1: WorkingMemory | None = None) -> QueryResponse:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    policy = policy_store.get_policy(req.namespace)
    budget = req.token_budget or policy.default_token_budget
    qvec = get_embedder().embed([req.query])[0]
    timings["embed"] = _ms(t0)
    when = parse_time_range(req.query)
    l1 = l1 or WorkingMemory()

    with db.connection() as conn:
        t = time.perf_counter()
        stats = lexical.load_stats(conn, req.namespace, content_terms(req.query))
        rows = fetch_candidates(
            conn, req, qvec, max(CANDIDATE_FLOOR, req.top_k * 4), tsquery_text(req.query, stats), when
        )
        timings["candidates"] = _ms(t)
        window: list[dict[str, Any]] = []
        if req.session_id:
            t = time.perf_counter()
            window, _source = l1.window(
                req.namespace,
                req.session_id,
                policy.l1_window_size,
                policy.l1_ttl_seconds,
                lambda ns, sid, n: long_term.recent_turns(conn, ns, sid, n),
                lambda ns, sid, n: long_term.recent_turn_ids(conn, ns, sid, n),
            )
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
        t = time.perf_counter()
        q_entities = entities.query_entities(conn, req.namespace, req.query)
        overlap = entities.memory_entity_overlap(conn, req.namespace, q_entities, [c.id for c in cands])
        score_candidates(cands, req, policy, stats, when, overlap)
        cands.sort(key=lambda c: (-c.score, str(c.id)))
        timings["rank"] = _ms(t)

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
            req, summary, window if req.session_id else [], kept, budget, all_candidates=cands
        )
        pack.entities = [{"name": e} for e in sorted(q_entities)]
        filtered.extend(FilteredCandidate(memory_id=mid, reason="over_budget") for mid in over_budget)
        if req.include_filtered:
            filtered.extend(kept_out_by_governance(conn, req, qvec))
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
