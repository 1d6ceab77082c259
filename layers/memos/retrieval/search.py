"""Query: hybrid candidates (``memos.store.candidates``), scored with explained components
(``memos.retrieval.scoring``), fitted into a context pack (``memos.retrieval.context_pack``).

Candidates (per namespace, or per session with scope=session, after filters), in one statement:
the nearest memories by embedding (exact, or the namespace's own HNSW index when it is large;
``memos.retrieval.ann``), the best BM25 matches from impact-ordered postings (a bounded number per
query term), the nearest memories inside the time range the question names; and the asking
session's L1 window from Redis (read while PostgreSQL answers the first reads, which bring the ids
the window must hold to be served: ``memos.working_memory``).

What the query leaves behind is one short write before the answer: the stored context pack (with
the memories it used, whose access counts ``memos.retrieval.feedback`` applies later in batches)
and the access-audit row, in one transaction whose commit does not wait for the WAL flush.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.embeddings import space
from memos.embeddings.calibration import scale_of
from memos.governance import access_audit, entities, policy_store
from memos.kernel.config import get_settings
from memos.kernel.observability import metrics
from memos.kernel.text import content_terms
from memos.models import FilteredCandidate, QueryRequest, QueryResponse, QueryResult
from memos.retrieval import ann, context_pack, lexical, multihop, rerank
from memos.retrieval.scoring import Candidate, asks_about_history, cut, score_candidates
from memos.retrieval.timeexpr import parse_time_range
from memos.store import audit, candidates, context_packs, db, first_reads
from memos.store import memories as memory_store
from memos.store.status import MemoryStatus
from memos.working_memory import WorkingMemory

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

CANDIDATE_FLOOR = 40  # candidates per retriever, at least; more for larger top_k


def kept_out_by_governance(
    conn: psycopg.Connection[Any], req: QueryRequest, qvec: Any
) -> list[FilteredCandidate]:
    """Memories near the query that governance keeps out of retrieval, with the reason:
    ``duplicate`` (linked to its original), ``superseded`` (a newer fact replaced it) or ``expired``
    (decay or TTL). Deleted memories are forgotten and never listed."""
    return [
        FilteredCandidate(
            memory_id=r["id"], reason="expired" if r["status"] == MemoryStatus.ACTIVE else r["status"]
        )
        for r in candidates.kept_out(conn, req, qvec)
    ]


def query(
    req: QueryRequest,
    *,
    l1: WorkingMemory | None = None,
    reader: access_audit.Reader | None = None,
    reranker: rerank.Reranker | None = None,
) -> QueryResponse:
    """Rank, explain and pack; ``reader`` (who reads) gets the read access-audited; ``reranker``
    (default: the configured one, ``MEMOS_RERANKER``; none by default) re-reads the best."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if req.history is None and asks_about_history(req.query):
        req = req.model_copy(update={"history": True})
    policy = policy_store.get_policy(req.namespace)
    budget = req.token_budget or policy.default_token_budget
    when = parse_time_range(req.query)
    l1 = l1 or WorkingMemory()
    reranker = reranker or rerank.get_reranker()

    with db.connection() as conn:
        # First in the transaction: the embedder of the stored vectors (its lock), and in the same
        # round trip the namespace's statistics of the query's terms, the entities it names, the
        # session's latest summary and the ids of its last turns (what its L1 window must hold).
        # While they are read, the query is embedded with the embedder this process last resolved
        # (again only if the space names another one: a switch) and the session's L1 window is
        # read from Redis.
        expected = space.expected()
        session_id = req.session_id

        def meanwhile() -> tuple[Any, list[str] | None]:
            qvec = expected.embed([req.query])[0]
            return qvec, l1.cached(req.namespace, session_id, policy.l1_window_size) if session_id else None

        first = first_reads.read(
            conn,
            req.namespace,
            content_terms(req.query),
            entities.names_to_look_up(req.query),
            session_id,
            window=policy.l1_window_size,
            meanwhile=meanwhile,
        )
        embedder = space.resolved(conn, first.space)
        stats = lexical.stats_of(*first.counts)
        q_entities = set(first.known.values())
        expected_qvec, cached_window = first.meanwhile
        qvec = expected_qvec if embedder is expected else embedder.embed([req.query])[0]
        timings["embed"] = _ms(t0)
        t = time.perf_counter()
        indexed = ann.uses_index(conn, req.namespace)
        counted: Counter[str] = Counter()  # the entities' evidence lists, read once for both rounds
        rows = candidates.fetch(
            conn,
            req,
            qvec,
            max(CANDIDATE_FLOOR, req.top_k * 4),
            lexical.query_terms(req.query, stats),
            (when.start, when.end) if when else None,
            ann_index=indexed,
            entity_names=sorted(q_entities),
            ef_search=ann.ef_search_for(first.counts[0]),
            counted=counted,
        )
        # The second round for multi-part and relational questions (see retrieval/multihop.py).
        rows = (
            multihop.expand(
                conn,
                req,
                qvec,
                rows,
                stats,
                embedder,
                ann_index=indexed,
                entity_names=sorted(q_entities),
                evidence_counts=counted,
            )
            + rows
        )
        evidence = {row["id"]: row["entity_n"] for row in rows if "entity_n" in row}
        timings["candidates"] = _ms(t)
        window: list[dict[str, Any]] = []
        if session_id:
            t = time.perf_counter()
            turn_ids = first.turn_ids or []
            window, _source = l1.settle(
                req.namespace,
                session_id,
                policy.l1_window_size,
                policy.l1_ttl_seconds,
                cached_window,
                lambda ns, sid, n: memory_store.recent_turns(conn, ns, sid, n),
                lambda ns, sid, n: turn_ids,
            )
            timings["l1"] = _ms(t)
        summary = context_pack.rendered_summary(conn, first.summary)

        unique: dict[UUID, Candidate] = {}
        for row in rows:
            unique.setdefault(row["id"], Candidate(row))
        window_ids = {w["memory_id"] for w in window}
        if window_ids:
            for c in unique.values():
                if str(c.id) in window_ids:
                    c.layer = "L1"
        cands = list(unique.values())
        t = time.perf_counter()
        overlap = entities.memory_entity_overlap(
            conn, req.namespace, q_entities, [c.id for c in cands], counted=evidence
        )
        score_candidates(cands, req, policy, stats, when, overlap, scale_of(embedder).for_query(qvec))
        cands.sort(key=lambda c: (-c.score, c.id.int))  # ties by id (a UUID's int orders as its text)
        timings["rank"] = _ms(t)
        governance_out = kept_out_by_governance(conn, req, qvec) if req.include_filtered else []
        if reranker is None:
            resp = _answer(
                conn, req, policy, budget, cands, window, summary, q_entities, governance_out, reader, timings
            )
    if reranker is not None:
        # The remote call holds no pooled connection, transaction, snapshot or embedding-space
        # lock: the reads ended with the block above, the answer is written in a transaction of its own.
        t = time.perf_counter()
        settings = get_settings()
        rerank.rerank(
            req.query,
            cands,
            reranker,
            depth=settings.rerank_depth,
            weight=settings.rerank_weight,
            min_score=policy.min_score,
        )
        timings["rerank"] = _ms(t)
        with db.connection() as conn:
            resp = _answer(
                conn, req, policy, budget, cands, window, summary, q_entities, governance_out, reader, timings
            )

    resp.timings_ms["total"] = _ms(t0)
    metrics.add_metric(name="Queries", unit="Count", value=1)
    return resp


def _answer(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    policy: Any,
    budget: int,
    cands: list[Candidate],
    window: list[dict[str, Any]],
    summary: Any,
    q_entities: set[str],
    governance_out: list[FilteredCandidate],
    reader: access_audit.Reader | None,
    timings: dict[str, float],
) -> QueryResponse:
    """Cut the ranked candidates, pack them and write what the query leaves behind (the stored
    pack and the access-audit row, one pipelined round trip with the commit) before answering."""
    kept, filtered = cut(cands, policy.min_score, req.top_k, explain=bool(req.include_filtered))

    t = time.perf_counter()
    pack, over_budget, usage = context_pack.build(
        req, summary, window if req.session_id else [], kept, budget, all_candidates=cands
    )
    pack.entities = [{"name": e} for e in sorted(q_entities)]
    if req.include_filtered:  # why the others are out, only for a response that shows them
        filtered.extend(FilteredCandidate(memory_id=mid, reason="over_budget") for mid in over_budget)
        filtered.extend(governance_out)
    query_id = uuid.uuid4()
    timings["pack"] = _ms(t)
    resp = _response(req, query_id, kept, filtered, pack, usage, timings)
    t = time.perf_counter()
    with conn.pipeline():  # one round trip: the statements and the commit are sent together
        audit.commit_without_flush_wait(conn)  # bookkeeping: a PostgreSQL crash may lose the last instant
        context_packs.insert(conn, query_id, req, pack, usage, touched=[c.id for c in kept])
        if reader is not None:
            access_audit.record(
                conn,
                reader,
                namespace=req.namespace,
                session_id=req.session_id,
                memory_ids=access_audit.returned_ids(resp),
                details={"query_id": str(query_id)},
            )
        conn.commit()
    resp.timings_ms["write"] = _ms(t)
    return resp


def _response(
    req: QueryRequest,
    query_id: UUID,
    kept: list[Candidate],
    filtered: list[FilteredCandidate],
    pack: Any,
    usage: Any,
    timings: dict[str, float],
) -> QueryResponse:
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
                metadata=candidates.metadata_of(c.row),
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
