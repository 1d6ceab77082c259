"""Ingest: validate, dedup, number, embed, store in L2 (one transaction), then L1 and the condensation trigger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from memos import audit, db, long_term, policies
from memos.embeddings import get_embedder
from memos.errors import Conflict
from memos.importance import initial_importance
from memos.long_term import NewMemory
from memos.models import IngestedMemory, IngestItem, IngestResponse
from memos.observability import logger, metrics
from memos.pipeline import maybe_enqueue_condensation
from memos.text import content_hash
from memos.tokens import count_tokens
from memos.working_memory import WorkingMemory


@dataclass
class _Planned:
    item: IngestItem
    key: tuple[str | None, str]
    memory: NewMemory | None = None
    duplicate_of: UUID | None = None
    window: list[dict[str, Any]] = field(default_factory=list)


def _dedup_key(item: IngestItem, digest: str) -> tuple[str | None, str]:
    # Episodic turns are duplicates within their session; facts and procedures within the namespace.
    return (item.session_id if item.kind == "episodic" else None, digest)


def ingest(
    namespace: str,
    items: list[IngestItem],
    *,
    actor: str | None = None,
    request_id: str | None = None,
    l1: WorkingMemory | None = None,
) -> IngestResponse:
    now = datetime.now(UTC)
    policy = policies.get_policy(namespace)
    planned = [_Planned(item, _dedup_key(item, content_hash(item.text))) for item in items]

    with db.connection() as conn:
        existing = long_term.find_live_hashes(conn, namespace, list({p.key for p in planned}))
        first_in_request: dict[tuple[str | None, str], UUID] = {}
        fresh: list[_Planned] = []
        for p in planned:
            earlier = existing.get(p.key) or first_in_request.get(p.key)
            if earlier is not None:
                p.duplicate_of = earlier
                continue
            mem_id = uuid.uuid4()
            first_in_request[p.key] = mem_id
            ttl_days = getattr(policy.ttl_days, p.item.kind)
            p.memory = NewMemory(
                id=mem_id,
                namespace=namespace,
                session_id=p.item.session_id,
                role=p.item.role,
                kind=p.item.kind,
                text=p.item.text,
                metadata=p.item.metadata,
                occurred_at=p.item.occurred_at or now,
                importance=initial_importance(p.item.text, p.item.role, p.item.kind, p.item.importance),
                content_hash=p.key[1],
                tokens=count_tokens(p.item.text),
                embedding=None,  # type: ignore[arg-type]
                expires_at=now + timedelta(days=ttl_days) if ttl_days else None,
            )
            fresh.append(p)

        if fresh:
            vectors = get_embedder().embed([p.item.text for p in fresh])
            for p, vec in zip(fresh, vectors, strict=True):
                assert p.memory is not None
                p.memory.embedding = vec

        counts: dict[str, tuple[int, int]] = {}
        for p in fresh:
            assert p.memory is not None
            turns, tokens = counts.get(p.memory.session_id, (0, 0))
            counts[p.memory.session_id] = (turns + 1, tokens + p.memory.tokens)
        sessions = long_term.reserve_turns(conn, namespace, counts)
        next_turn = {s: row["turn_count"] - counts[s][0] + 1 for s, row in sessions.items()}
        for p in fresh:
            assert p.memory is not None
            p.memory.turn_no = next_turn[p.memory.session_id]
            next_turn[p.memory.session_id] += 1

        inserted = long_term.insert_memories(conn, [p.memory for p in fresh if p.memory is not None])
        lost_race = [p for p in fresh if p.memory is not None and p.memory.id not in inserted]
        if lost_race:  # a concurrent request stored the same text first: report it as the original
            winners = long_term.find_live_hashes(conn, namespace, [p.key for p in lost_race])
            for p in lost_race:
                p.duplicate_of, p.memory = winners.get(p.key), None
        duplicates = [p.duplicate_of for p in planned if p.duplicate_of is not None]
        long_term.mark_seen_again(conn, duplicates)

        events: list[tuple[str, str | None, str | None, UUID | None, dict[str, Any]]] = []
        by_session: dict[str, list[str]] = {}
        for p in planned:
            if p.memory is not None:
                by_session.setdefault(p.item.session_id, []).append(str(p.memory.id))
            elif p.duplicate_of is not None:
                events.append(
                    (
                        "dedup",
                        namespace,
                        p.item.session_id,
                        p.duplicate_of,
                        {"match": "exact", "duplicate_of": str(p.duplicate_of)},
                    )
                )
        events.extend(
            ("ingest", namespace, s, None, {"memory_ids": ids, "count": len(ids)})
            for s, ids in by_session.items()
        )
        audit.record_many(conn, events, actor, request_id)
        jobs = [maybe_enqueue_condensation(conn, namespace, s, row, policy) for s, row in sessions.items()]
        conn.commit()

    enqueued = [job for job in jobs if job is not None]
    for job in enqueued:
        job.send()
    _push_l1(namespace, planned, policy, l1 or WorkingMemory())
    created = sum(1 for p in planned if p.memory is not None)
    metrics.add_metric(name="MemoriesIngested", unit="Count", value=created)
    metrics.add_metric(name="MemoriesDeduplicated", unit="Count", value=len(planned) - created)
    logger.debug("ingested", extra={"namespace": namespace, "created": created, "items": len(planned)})
    return IngestResponse(
        accepted=len(planned),
        memories=[_outcome(p) for p in planned],
        condensation_enqueued=bool(enqueued),
    )


def _outcome(p: _Planned) -> IngestedMemory:
    if p.memory is not None:
        return IngestedMemory(memory_id=p.memory.id, status="created")
    if p.duplicate_of is None:  # lost a race to a row that vanished before we could read it
        raise Conflict("a concurrent request changed this memory; retry")
    return IngestedMemory(memory_id=p.duplicate_of, status="duplicate", duplicate_of=p.duplicate_of)


def _push_l1(namespace: str, planned: list[_Planned], policy: Any, l1: WorkingMemory) -> None:
    turns: dict[str, list[dict[str, Any]]] = {}
    for p in planned:
        if p.memory is not None:
            m = p.memory
            turns.setdefault(m.session_id, []).append(
                long_term.window_entry(
                    {
                        "id": m.id,
                        "role": m.role,
                        "text": m.text,
                        "occurred_at": m.occurred_at,
                        "turn_no": m.turn_no,
                        "tokens": m.tokens,
                    }
                )
            )
    for session_id, entries in turns.items():
        l1.push(
            namespace,
            session_id,
            entries,
            policy.l1_window_size,
            policy.l1_ttl_seconds,
            create=entries[0]["turn_no"] == 1,
        )
