"""Ingest: redact (if the policy says so), dedup (exact and near), resolve conflicts, number,
embed, store in L2 in one transaction (with the condensation jobs it triggers, in an outbox), two
round trips for a session that has had turns (the reads; the writes with the COMMIT); push to L1
while the COMMIT runs, then send the jobs in the background.

Outcomes per item, in item order:
- ``created``: a new live memory.
- ``duplicate``: an exact duplicate is not stored again (``memory_id`` is the original's); a near
  duplicate is stored with status ``duplicate`` and linked (``memory_id`` is the new row's).
- ``superseded``: a new fact (a semantic memory, or a user's turn stating a single-valued fact;
  rules in ``memos.memory.conflicts``) replaced an older one with the same subject and attribute
  (``supersedes``); the older stays in history with status ``superseded``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np

from memos.embeddings import Embedder, space
from memos.governance import entities, pii, policy_store
from memos.governance.policy import Policy
from memos.governance.trigger import CondensationJob, due_job, record_jobs, send_after_response
from memos.kernel.errors import Conflict
from memos.kernel.observability import logger, metrics
from memos.kernel.text import content_hash, content_terms, content_terms_and_indexed, indexed_text
from memos.kernel.tokens import count_tokens
from memos.memory.conflicts import memory_fact_key
from memos.memory.importance import initial_importance
from memos.models import IngestedMemory, IngestItem, IngestResponse
from memos.retrieval.lexical import record_found_terms
from memos.store import audit, db
from memos.store import entities as entity_store
from memos.store import memories as store
from memos.store import sessions as session_store
from memos.store import terms as term_store
from memos.store.memories import NewMemory
from memos.store.status import MemoryStatus
from memos.working_memory import WorkingMemory

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

RECENT_TURNS_FOR_NEAR_DUP = 50
NEAR_DUP_WORD_OVERLAP = 0.6  # Jaccard of content words, on top of the policy's cosine threshold
AuditEvent = tuple[str, str | None, str | None, UUID | None, dict[str, Any]]


@dataclass
class _Planned:
    item: IngestItem
    text: str
    key: tuple[str | None, str]
    memory: NewMemory | None = None
    duplicate_of: UUID | None = None  # exact duplicate: nothing stored
    near_duplicate_of: UUID | None = None  # stored with status 'duplicate'
    supersedes: UUID | None = None
    redactions: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # redacted like the text when the policy says so
    same_as: _Planned | None = None  # an earlier item of the same request with the same text
    terms: list[str] = field(default_factory=list)  # content terms of ``text`` (stemmed once per batch)
    indexed_terms: list[str] = field(
        default_factory=list
    )  # of its ``indexed_text``: what ``record_terms`` counts


def ingest(
    namespace: str,
    items: list[IngestItem],
    *,
    actor: str | None = None,
    request_id: str | None = None,
    l1: WorkingMemory | None = None,
) -> IngestResponse:
    import psycopg

    # One item (a single add) on its own path: the same outcomes, without the batch's machinery.
    once = _ingest_one if len(items) == 1 else _ingest_once
    try:
        return once(namespace, items, actor, request_id, l1)
    except psycopg.errors.UniqueViolation:
        # A concurrent writer stored one of these texts between this transaction's reads and its
        # insert, sent with the writes (see ``_number_and_insert``): nothing was committed. Again:
        # the winner is now an exact duplicate, as ``_resolve_lost_races`` would have reported it.
        try:
            return once(namespace, items, actor, request_id, l1)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict("a concurrent request changed this memory; retry") from exc


def _ingest_once(
    namespace: str,
    items: list[IngestItem],
    actor: str | None,
    request_id: str | None,
    l1: WorkingMemory | None,
) -> IngestResponse:
    now = datetime.now(UTC)
    policy = policy_store.get_policy(namespace)
    planned = [_plan(item, policy) for item in items]
    _tokenise(planned)
    events: list[AuditEvent] = [
        ("redact", namespace, p.item.session_id, None, {"count": p.redactions})
        for p in planned
        if p.redactions
    ]

    _mark_repeats(planned)
    originals = [p for p in planned if p.same_as is None]
    supersede = policy.conflict_mode == "supersede"
    # Embedded before the transaction with the embedder it most likely uses, so the reads of the
    # stored rows travel with the first round trip; read again if the space says otherwise.
    guess = space.expected()
    _prepare(originals, namespace, policy, now, guess)

    # One pipeline for the transaction: statements whose answer is not needed yet (BEGIN, the
    # writes, COMMIT) travel with the next one that is, so the round trips are the reads and the end.
    with db.pipelined_transaction() as conn:
        # First in the transaction: the embedder of the stored vectors; in the same round trip, the
        # batch's sessions locked, the namespace's term totals, the exact duplicates, current facts
        # and near duplicates of the batch (read before it is known which items are exact
        # duplicates: their answers are dropped), and the stored entities the batch's names resolve
        # to (L3; the names are found while PostgreSQL runs the reads before).
        embedder, (locked, (extracted, lookups), totals, read_known) = space.active_and(
            conn,
            lambda: _send_reads(conn, namespace, planned, originals, policy, supersede),
        )
        known = read_known()
        if embedder is not guess:  # vectors of another embedder: embed and read again
            _prepare(originals, namespace, policy, now, embedder)
            known = _send_before_write(conn, namespace, originals, policy, supersede)()
        fresh = _apply_exact_duplicates(planned, originals, known.hashes)
        if supersede:
            _find_conflicts(fresh, known.facts)
        _mark_near_duplicates(fresh, originals, known.near, policy)
        sessions, inserted = _number_and_insert(conn, namespace, fresh, locked)
        _resolve_lost_races(conn, namespace, planned, fresh, inserted)
        store.mark_seen_again(conn, [p.duplicate_of for p in planned if p.duplicate_of is not None])
        superseded = [(p.supersedes, p.memory.id) for p in fresh if p.supersedes and p.memory is not None]
        store.supersede(conn, superseded)
        stored = [p for p in fresh if p.memory is not None and p.memory.status == MemoryStatus.ACTIVE]
        live = [p.memory for p in stored if p.memory is not None]
        entities.record_mentions(
            conn, namespace, [(m.id, m.text) for m in live], (extracted, lookups), new_memories=True
        )
        record_found_terms(
            conn,
            namespace,
            [(m.id, p.indexed_terms) for m, p in zip(live, stored, strict=True)],
            totals,
            new_memories=True,
        )
        events += _audit_events(namespace, planned)
        audit.record_many(conn, events, actor, request_id)
        enqueued = [j for s, row in sessions.items() if (j := due_job(namespace, s, row, policy)) is not None]
        record_jobs(conn, namespace, enqueued)
        db.send_commit(conn)
        # The writes and the COMMIT are on their way (the end of the block waits for them): L1 is
        # pushed while PostgreSQL runs them. A window is served only when its ids are L2's
        # (``WorkingMemory.window``), so a push that lands first, or for a commit that fails, is
        # rebuilt from L2, never served.
        _push_l1(namespace, live, policy, l1 or WorkingMemory())

    send_after_response(enqueued)
    created = len(live)
    metrics.add_metric(name="MemoriesIngested", unit="Count", value=created)
    metrics.add_metric(name="MemoriesDeduplicated", unit="Count", value=len(planned) - created)
    logger.debug("ingested", extra={"namespace": namespace, "created": created, "items": len(planned)})
    return IngestResponse(
        accepted=len(planned), memories=[_outcome(p) for p in planned], condensation_enqueued=bool(enqueued)
    )


def _ingest_one(
    namespace: str,
    items: list[IngestItem],
    actor: str | None,
    request_id: str | None,
    l1: WorkingMemory | None,
) -> IngestResponse:
    """``_ingest_once`` for a request of one item: the same statements in the same round trips, with
    scalar parameters (psycopg dumps them in C; a 1-element array goes through its Python array
    dumper), and none of the batch's steps that cannot apply to one item (repeats within the
    request, grouping by session, the request's own near duplicates, turn numbering of several)."""
    now = datetime.now(UTC)
    policy = policy_store.get_policy(namespace)
    p = _plan(items[0], policy)
    _tokenise([p])
    events: list[AuditEvent] = (
        [("redact", namespace, p.item.session_id, None, {"count": p.redactions})] if p.redactions else []
    )
    guess = space.expected()
    _prepare([p], namespace, policy, now, guess)
    replies: Callable[[], bool] | None = None  # the L1 push's replies, read once the COMMIT is in
    try:
        with db.pipelined_transaction() as conn:
            enqueued, live = _write_one(conn, namespace, p, policy, now, guess, actor, request_id, events)
            # The writes and the COMMIT are on their way: the L1 push is sent too, and its replies
            # read after the COMMIT's (the end of the block waits for it), so neither waits on the
            # other. A window is served only when its ids are L2's (``WorkingMemory.window``): a push
            # that lands first, or for a commit that fails, is rebuilt from L2, never served.
            replies = _send_l1_one(namespace, live, policy, l1 or WorkingMemory())
    finally:
        if replies is not None:
            replies()

    send_after_response(enqueued)
    metrics.add_metric(name="MemoriesIngested", unit="Count", value=len(live))
    metrics.add_metric(name="MemoriesDeduplicated", unit="Count", value=1 - len(live))
    logger.debug("ingested", extra={"namespace": namespace, "created": len(live), "items": 1})
    return IngestResponse(accepted=1, memories=[_outcome(p)], condensation_enqueued=bool(enqueued))


def _write_one(
    conn: psycopg.Connection[Any],
    namespace: str,
    p: _Planned,
    policy: Policy,
    now: datetime,
    guess: Embedder,
    actor: str | None,
    request_id: str | None,
    events: list[AuditEvent],
) -> tuple[list[CondensationJob], list[NewMemory]]:
    """``_ingest_one``'s transaction up to its COMMIT (sent); returns the jobs enqueued and the row
    stored live (none or one)."""
    supersede = policy.conflict_mode == "supersede"
    sid = p.item.session_id

    def send_reads() -> Callable[[], Any]:
        read_locked = session_store.send_lock_one(conn, namespace, sid)
        read_totals = term_store.send_totals(conn, namespace)
        read_known = _send_before_write_one(conn, namespace, p, policy, supersede)
        extracted = entities.extract_all([p.text])
        read_lookups = entities.send_lookups(conn, namespace, extracted)
        return lambda: (read_locked(), (extracted, read_lookups()), read_totals(), read_known)

    embedder, (locked, (extracted, lookups), totals, read_known) = space.active_and(conn, send_reads)
    known = read_known()
    if embedder is not guess:  # vectors of another embedder: embed and read again
        _prepare([p], namespace, policy, now, embedder)
        known = _send_before_write_one(conn, namespace, p, policy, supersede)()
    m = p.memory
    assert m is not None
    if p.key in known.hashes:  # an exact duplicate: nothing stored
        p.duplicate_of, p.memory = known.hashes[p.key], None
    elif supersede and m.fact_key:
        p.supersedes = known.facts.get(m.fact_key)
    fresh = [p] if p.memory is not None else []
    _mark_near_duplicates(fresh, [p], known.near, policy)  # a pool of one: no matrix
    sessions: dict[str, dict[str, Any]] = {}
    if p.memory is not None:
        sessions, inserted = _number_and_insert_one(conn, namespace, m, locked)
        _resolve_lost_races(conn, namespace, [p], [p], inserted)
    if p.duplicate_of is not None:
        store.mark_seen_again(conn, [p.duplicate_of])
    if p.supersedes is not None and p.memory is not None:
        store.supersede(conn, [(p.supersedes, p.memory.id)])
    live = [m] if p.memory is not None and m.status == MemoryStatus.ACTIVE else []
    entities.record_mentions(
        conn, namespace, [(m.id, m.text) for m in live], (extracted, lookups), new_memories=True
    )
    record_found_terms(conn, namespace, [(m.id, p.indexed_terms) for m in live], totals, new_memories=True)
    events += _audit_events(namespace, [p])
    if len(events) == 1:
        audit.record_one(conn, events[0], actor, request_id)
    else:
        audit.record_many(conn, events, actor, request_id)
    enqueued = [j for s, row in sessions.items() if (j := due_job(namespace, s, row, policy)) is not None]
    record_jobs(conn, namespace, enqueued)
    db.send_commit(conn)
    return enqueued, live


def _send_l1_one(
    namespace: str, live: list[NewMemory], policy: Policy, l1: WorkingMemory
) -> Callable[[], bool]:
    """``_push_l1`` of a single add's row (if stored live), sent (``WorkingMemory.send_push``)."""
    if not live:
        return lambda: True
    m = live[0]
    entry = store.window_entry(
        {
            "id": m.id,
            "role": m.role,
            "text": m.text,
            "occurred_at": m.occurred_at,
            "turn_no": m.turn_no,
            "tokens": m.tokens,
        }
    )
    return l1.send_push(
        namespace, {m.session_id: ([entry], m.turn_no == 1)}, policy.l1_window_size, policy.l1_ttl_seconds
    )


def _send_before_write_one(
    conn: psycopg.Connection[Any], namespace: str, p: _Planned, policy: Policy, supersede: bool
) -> Callable[[], store.BeforeWrite]:
    assert p.memory is not None
    return store.send_before_write_one(
        conn,
        namespace,
        p.key,
        p.memory.fact_key if supersede else None,
        p.memory.embedding,
        RECENT_TURNS_FOR_NEAR_DUP,
        policy.dedup_threshold,
    )


def _number_and_insert_one(
    conn: psycopg.Connection[Any], namespace: str, m: NewMemory, locked: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], set[UUID]]:
    """``_number_and_insert`` of one row: sent unread with the writes when its session was locked
    with the reads, else one round trip now (the row is skipped when it lost a race)."""
    sid = m.session_id
    if sid in locked:
        sessions = {sid: session_store.after_reserving(locked[sid], 1, m.tokens)}
        m.turn_no = sessions[sid]["turn_count"]
        session_store.send_reserve_one(conn, namespace, sid, 1, m.tokens)
        store.send_insert_one(conn, m, numbered=False)
        return sessions, {m.id}
    with conn.pipeline():
        read_sessions = session_store.send_reserve_one(conn, namespace, sid, 1, m.tokens)
        read_inserted = store.send_insert_one(conn, m, numbered=True)
    sessions, inserted = read_sessions(), read_inserted()
    m.turn_no = inserted.get(m.id, 0)
    return sessions, set(inserted)


def _send_reads(
    conn: psycopg.Connection[Any],
    namespace: str,
    planned: list[_Planned],
    originals: list[_Planned],
    policy: Policy,
    supersede: bool,
) -> Callable[
    [],
    tuple[
        dict[str, dict[str, Any]],
        tuple[entities.Extracted, entity_store.Lookups],
        tuple[int, int],
        Callable[[], store.BeforeWrite],
    ],
]:
    """Queue the reads ingest needs before it writes: the batch's session rows, locked before the
    stored rows are read (a concurrent ingest into these sessions waits, then reads what this one
    wrote), the namespace's term totals (BM25), ``store.send_before_write``, then the stored
    entities of the batch's names (L3); returns what reads them. The names are extracted between
    the two: the statements queued before are on their way (a pipeline sends as it queues), so
    PostgreSQL runs them (the near-duplicate read is the longest) while the rules run here."""
    read_locked = session_store.send_lock_existing(conn, namespace, [p.item.session_id for p in originals])
    read_totals = term_store.send_totals(conn, namespace)
    read_known = _send_before_write(conn, namespace, originals, policy, supersede)
    extracted = entities.extract_all(p.text for p in planned)
    read_lookups = entities.send_lookups(conn, namespace, extracted)
    return lambda: (read_locked(), (extracted, read_lookups()), read_totals(), read_known)


def _send_before_write(
    conn: psycopg.Connection[Any], namespace: str, originals: list[_Planned], policy: Policy, supersede: bool
) -> Callable[[], store.BeforeWrite]:
    return store.send_before_write(
        conn,
        namespace,
        list({p.key for p in originals}),
        sorted({p.memory.fact_key for p in originals if p.memory and p.memory.fact_key}) if supersede else [],
        [(p.key[0], p.memory.embedding) for p in originals if p.memory is not None],
        RECENT_TURNS_FOR_NEAR_DUP,
        policy.dedup_threshold,
    )


def _plan(item: IngestItem, policy: Policy) -> _Planned:
    text, found = pii.redact(item.text) if policy.pii_redaction else (item.text, [])
    metadata, in_metadata = pii.redact_json(item.metadata) if policy.pii_redaction else (item.metadata, [])
    # Episodic turns are duplicates within their session; facts and procedures within the namespace.
    scope = item.session_id if item.kind == "episodic" else None
    return _Planned(
        item, text, (scope, content_hash(text)), redactions=len(found) + len(in_metadata), metadata=metadata
    )


def _tokenise(planned: list[_Planned]) -> None:
    """Each item's content terms, of its text (importance, near duplicates) and of its
    ``indexed_text`` (term statistics and postings), each text tokenised once for the request."""
    own, indexed = content_terms_and_indexed([(p.text, p.metadata) for p in planned])
    for p, terms, indexed_terms in zip(planned, own, indexed, strict=True):
        p.terms, p.indexed_terms = terms, indexed_terms


def _mark_repeats(planned: list[_Planned]) -> None:
    """A later item of the request with the same key as an earlier one repeats it (``same_as``)."""
    first_in_request: dict[tuple[str | None, str], _Planned] = {}
    for p in planned:
        if p.key in first_in_request:
            p.same_as = first_in_request[p.key]
        else:
            first_in_request[p.key] = p


def _apply_exact_duplicates(
    planned: list[_Planned], originals: list[_Planned], existing: dict[tuple[str | None, str], UUID]
) -> list[_Planned]:
    """An item whose key a live row has is that row (nothing stored); a repeat follows its first.
    Returns the items to store, in order."""
    for p in originals:
        if p.key in existing:
            p.duplicate_of, p.memory = existing[p.key], None
    for p in planned:
        if p.same_as is not None:
            first = p.same_as
            p.duplicate_of = first.duplicate_of if first.memory is None else first.memory.id
    return [p for p in originals if p.duplicate_of is None]


def _expiry(occurred_at: datetime, now: datetime, policy: Policy, ttl_days: int | None) -> datetime | None:
    """When the kind's TTL runs out: counted from the event time unless the policy says ingestion."""
    if not ttl_days:
        return None
    return (now if policy.ttl_from == "ingested_at" else occurred_at) + timedelta(days=ttl_days)


def _prepare(
    originals: list[_Planned], namespace: str, policy: Policy, now: datetime, embedder: Embedder
) -> None:
    """Build the rows to insert, embedded in one call (``originals``: no repeats of earlier items)."""
    # Who said it is part of what a turn means ("What did Ana adopt?"), for vectors as for words.
    vectors: Any = embedder.embed([indexed_text(p.text, p.metadata) for p in originals]) if originals else []
    for p, vec in zip(originals, vectors, strict=True):
        ttl_days = getattr(policy.ttl_days, p.item.kind)
        p.memory = NewMemory(
            id=uuid.uuid4(),
            namespace=namespace,
            session_id=p.item.session_id,
            role=p.item.role,
            kind=p.item.kind,
            text=p.text,
            metadata=p.metadata,
            occurred_at=p.item.occurred_at or now,
            importance=initial_importance(p.text, p.item.role, p.item.kind, p.item.importance, p.terms),
            content_hash=p.key[1],
            tokens=count_tokens(p.text),
            embedding=vec,
            expires_at=_expiry(p.item.occurred_at or now, now, policy, ttl_days),
            fact_key=memory_fact_key(p.text, p.item.kind, p.item.role, p.item.metadata),
            decay_half_life=policy.decay_half_life_days,
            decay_floor=policy.min_importance if p.item.kind in policy.decay_kinds else None,
            ttl_days=ttl_days,
            ttl_from_ingest=policy.ttl_from == "ingested_at",
        )


def _mark_near_duplicates(
    fresh: list[_Planned], originals: list[_Planned], near: list[dict[str, Any]], policy: Policy
) -> None:
    """Near duplicates (cosine ≥ policy.dedup_threshold): a session's recent turns for episodic
    memories, the namespace's live facts and procedures for the other kinds; earlier items of the
    same request count too. ``near``: the stored rows close to each of ``originals`` (rows i, id,
    text, sim: ``store.send_before_write``); the request's own items by one matrix product per pool."""
    if not fresh:
        return
    threshold = policy.dedup_threshold
    close: dict[UUID, list[tuple[float, UUID, str]]] = defaultdict(list)
    for r in near:
        item = originals[r["i"]].memory
        if item is not None:  # None: an exact duplicate, not stored
            close[item.id].append((float(r["sim"]), r["id"], r["text"]))
    memories = [p.memory for p in fresh if p.memory is not None]
    assert len(memories) == len(fresh)  # _prepare built one row per fresh item
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, p in enumerate(fresh):
        groups[p.key[0]].append(i)
    for members in groups.values():
        # A pool of one item has no pairs within the request (``to_items`` is never read).
        vecs = np.stack([_as_array(memories[i].embedding) for i in members]) if len(members) > 1 else None
        to_items = vecs @ vecs.T if vecs is not None else np.empty((1, 0))
        kept: list[int] = []  # positions in ``members`` of the items that joined the pool
        for pos, i in enumerate(members):
            p, m = fresh[i], memories[i]
            if p.supersedes is None:  # a new value for a known fact is a conflict, not a duplicate
                found: list[tuple[float, UUID, list[str] | None, str | None]] = [
                    (sim, mid, None, text) for sim, mid, text in close.get(m.id, [])
                ]
                found += [
                    (float(to_items[pos, k]), memories[members[k]].id, fresh[members[k]].terms, None)
                    for k in kept
                    if to_items[pos, k] >= threshold
                ]
                match = _first_near(p.terms, found)
                if match is not None:
                    p.near_duplicate_of = match
                    m.status, m.duplicate_of = MemoryStatus.DUPLICATE, match
                    continue
            kept.append(pos)


def _first_near(
    terms: list[str], found: list[tuple[float, UUID, list[str] | None, str | None]]
) -> UUID | None:
    """Of the three closest (all at or above the threshold), the first with mostly the same words.
    ``found``: (similarity, id, the request item's terms or None, the stored text or None)."""
    mine = set(terms)
    for _, mid, item_terms, text in sorted(found, key=lambda f: -f[0])[:3]:
        other = set(item_terms if item_terms is not None else content_terms(text or ""))
        if _jaccard(mine, other) >= NEAR_DUP_WORD_OVERLAP:
            return mid
    return None


def _jaccard(a: set[str], b: set[str]) -> float:
    """Word overlap; texts that state different numbers (codes, dates, amounts) never match."""
    if {t for t in a if t.isdigit()} != {t for t in b if t.isdigit()}:
        return 0.0
    return len(a & b) / len(a | b) if a or b else 1.0


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _find_conflicts(fresh: list[_Planned], current: dict[str, UUID]) -> None:
    """``current``: the live fact per fact key (``store.send_before_write``)."""
    keyed = [p for p in fresh if p.memory is not None and p.memory.fact_key]
    current = dict(current)
    for p in keyed:  # later items in a request supersede earlier ones with the same key
        assert p.memory is not None and p.memory.fact_key is not None
        old = current.get(p.memory.fact_key)
        if old is not None:
            p.supersedes = old
        current[p.memory.fact_key] = p.memory.id


def _number_and_insert(
    conn: psycopg.Connection[Any], namespace: str, fresh: list[_Planned], locked: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], set[UUID]]:
    """Reserve the sessions' turns and insert the rows; returns the session rows after the
    reservation and the ids inserted. When every row's session was locked with the reads
    (``locked``: a session that has had turns), its turns are known here: both statements go with
    the writes and the commit, unread, and a row another writer stored first fails the transaction
    (``ingest`` runs again). Otherwise (a session's first turns) one round trip now: the INSERT
    numbers each row from its session's reserved count and skips a row that lost a race."""
    if not fresh:  # nothing to number (every item an exact duplicate)
        return {}, set()
    counts: dict[str, tuple[int, int]] = {}
    back: list[int] = []  # per row: how many of its session's new turns come after it
    for p in fresh:
        assert p.memory is not None
        turns, tokens = counts.get(p.memory.session_id, (0, 0))
        counts[p.memory.session_id] = (turns + 1, tokens + p.memory.tokens)
        back.append(turns)  # its position in the session's new turns, turned around below
    rows = [p.memory for p in fresh if p.memory is not None]
    back = [counts[m.session_id][0] - 1 - k for m, k in zip(rows, back, strict=True)]
    if all(sid in locked for sid in counts):
        sessions = {sid: session_store.after_reserving(locked[sid], *counts[sid]) for sid in counts}
        for m, k in zip(rows, back, strict=True):
            m.turn_no = sessions[m.session_id]["turn_count"] - k
        session_store.send_reserve_turns(conn, namespace, counts)
        store.send_insert(conn, rows, strict=True)
        return sessions, {m.id for m in rows}
    with conn.pipeline():
        read_sessions = session_store.send_reserve_turns(conn, namespace, counts)
        read_inserted = store.send_insert(conn, rows, back)
    sessions, inserted = read_sessions(), read_inserted()
    for m in rows:  # a row that lost a race is not stored (``_resolve_lost_races`` drops it)
        m.turn_no = inserted.get(m.id, 0)
    return sessions, set(inserted)


def _resolve_lost_races(
    conn: psycopg.Connection[Any],
    namespace: str,
    planned: list[_Planned],
    fresh: list[_Planned],
    inserted: set[UUID],
) -> None:
    """A concurrent request stored the same text first: report its row as the original."""
    lost = [p for p in fresh if p.memory is not None and p.memory.id not in inserted]
    if lost:
        winners = store.find_live_hashes(conn, namespace, [p.key for p in lost])
        for p in lost:
            p.duplicate_of, p.memory, p.supersedes = winners.get(p.key), None, None
        for p in planned:  # repeats of a lost item follow it to the winner
            if p.same_as is not None and p.same_as in lost:
                p.duplicate_of = p.same_as.duplicate_of


def _audit_events(namespace: str, planned: list[_Planned]) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    by_session: dict[str, list[str]] = {}
    for p in planned:
        sid = p.item.session_id
        if p.duplicate_of is not None:
            events.append(
                (
                    "dedup",
                    namespace,
                    sid,
                    p.duplicate_of,
                    {"match": "exact", "duplicate_of": str(p.duplicate_of)},
                )
            )
        elif p.memory is not None and p.near_duplicate_of is not None:
            events.append(
                (
                    "dedup",
                    namespace,
                    sid,
                    p.memory.id,
                    {"match": "near", "duplicate_of": str(p.near_duplicate_of)},
                )
            )
        elif p.memory is not None:
            by_session.setdefault(sid, []).append(str(p.memory.id))
            if p.supersedes is not None:
                events.append(
                    (
                        "supersede",
                        namespace,
                        sid,
                        p.supersedes,
                        {"superseded_by": str(p.memory.id), "fact_key": p.memory.fact_key},
                    )
                )
    events.extend(
        ("ingest", namespace, s, None, {"memory_ids": ids, "count": len(ids)})
        for s, ids in by_session.items()
    )
    return events


def _outcome(p: _Planned) -> IngestedMemory:
    if p.memory is not None and p.near_duplicate_of is not None:
        return IngestedMemory(memory_id=p.memory.id, status="duplicate", duplicate_of=p.near_duplicate_of)
    if p.memory is not None and p.supersedes is not None:
        return IngestedMemory(memory_id=p.memory.id, status="superseded", supersedes=p.supersedes)
    if p.memory is not None:
        return IngestedMemory(memory_id=p.memory.id, status="created")
    if p.duplicate_of is None:  # lost a race to a row that vanished before we could read it
        raise Conflict("a concurrent request changed this memory; retry")
    return IngestedMemory(memory_id=p.duplicate_of, status="duplicate", duplicate_of=p.duplicate_of)


def _push_l1(namespace: str, live: list[NewMemory], policy: Policy, l1: WorkingMemory) -> None:
    turns: dict[str, list[dict[str, Any]]] = {}
    for m in live:
        turns.setdefault(m.session_id, []).append(
            store.window_entry(
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
    l1.push_many(
        namespace,
        {sid: (entries, entries[0]["turn_no"] == 1) for sid, entries in turns.items()},
        policy.l1_window_size,
        policy.l1_ttl_seconds,
    )
