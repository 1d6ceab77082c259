"""L2: the long-term store in PostgreSQL + pgvector. The only module that writes memories rows."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
import psycopg

from memos.embeddings.reembed import embedder_id
from memos.store import paging
from memos.store.db import jsonb
from memos.store.status import LIVE, MemoryStatus, active

MEMORY_COLUMNS = (
    "id, namespace, session_id, turn_no, role, kind, text, metadata, occurred_at, created_at, importance,"
    " status, duplicate_of, superseded_by, tokens, expires_at, base_importance, access_count,"
    " last_accessed_at, decay_half_life, decay_floor"
)


@dataclass
class NewMemory:
    id: UUID
    namespace: str
    session_id: str
    role: str
    kind: str
    text: str
    metadata: dict[str, Any]
    occurred_at: datetime
    importance: float
    content_hash: str
    tokens: int
    embedding: np.ndarray
    expires_at: datetime | None = None
    turn_no: int = 0
    fact_key: str | None = None
    status: MemoryStatus = MemoryStatus.ACTIVE  # or DUPLICATE for a near duplicate, stored and linked
    duplicate_of: UUID | None = None
    # Its decay plan under the namespace's policy (migration 0007 derives forget_at from these).
    decay_half_life: float | None = None
    decay_floor: float | None = None  # None: its kind does not decay
    ttl_days: int | None = None
    ttl_from_ingest: bool = False


def find_live_hashes(
    conn: psycopg.Connection[Any], namespace: str, keys: Sequence[tuple[str | None, str]]
) -> dict[tuple[str | None, str], UUID]:
    """Live rows matching (session_id, hash) for episodic keys or (None, hash) for namespace-wide keys."""
    return _send_hash_lookup(conn, namespace, keys)()


def _send_hash_lookup(
    conn: psycopg.Connection[Any], namespace: str, keys: Sequence[tuple[str | None, str]]
) -> Callable[[], dict[tuple[str | None, str], UUID]]:
    """Send the lookups; the returned function reads their answer (after a pipeline's sync)."""
    session_keys = [(s, h) for s, h in keys if s is not None]
    ns_hashes = [h for s, h in keys if s is None]
    by_session = (
        conn.execute(
            "SELECT m.id, m.session_id, m.content_hash FROM memories m"
            " JOIN unnest(%b::text[], %b::text[]) AS k(session_id, content_hash)"
            "   ON m.session_id = k.session_id AND m.content_hash = k.content_hash"
            f" WHERE m.namespace = %s AND {active('m')} AND m.kind = 'episodic'",
            ([s for s, _ in session_keys], [h for _, h in session_keys], namespace),
        )
        if session_keys
        else None
    )
    in_namespace = (
        conn.execute(
            f"SELECT id, content_hash FROM memories WHERE namespace = %s AND {active()}"
            " AND kind <> 'episodic' AND content_hash = ANY(%b::text[])",
            (namespace, ns_hashes),
        )
        if ns_hashes
        else None
    )

    def read() -> dict[tuple[str | None, str], UUID]:
        found: dict[tuple[str | None, str], UUID] = {}
        if by_session is not None:
            found.update({(r["session_id"], r["content_hash"]): r["id"] for r in by_session.fetchall()})
        if in_namespace is not None:
            found.update({(None, r["content_hash"]): r["id"] for r in in_namespace.fetchall()})
        return found

    return read


@dataclass
class BeforeWrite:
    """What ingest must know about the stored rows before it writes a batch."""

    hashes: dict[tuple[str | None, str], UUID]  # live rows with the items' exact keys
    facts: dict[str, UUID]  # live facts by fact key (conflicts)
    near: list[dict[str, Any]]  # close stored rows per item (see ``_send_near``)


def send_before_write(
    conn: psycopg.Connection[Any],
    namespace: str,
    keys: Sequence[tuple[str | None, str]],
    fact_keys: list[str],
    near_items: Sequence[tuple[str | None, np.ndarray]],
    per_session: int,
    threshold: float,
) -> Callable[[], BeforeWrite]:
    """The exact-duplicate, conflict and near-duplicate reads of a batch, sent (in the caller's
    pipeline, with other reads: one round trip); the returned function reads them."""
    read_hashes = _send_hash_lookup(conn, namespace, keys)
    facts = conn.execute(_FACTS_BY_KEY, (namespace, fact_keys)) if fact_keys else None
    near = _send_near(conn, namespace, near_items, per_session, threshold) if near_items else None
    return lambda: BeforeWrite(
        hashes=read_hashes(),
        facts={r["fact_key"]: r["id"] for r in facts.fetchall()} if facts is not None else {},
        near=near.fetchall() if near is not None else [],
    )


_INSERT = (
    "INSERT INTO memories (id, namespace, session_id, turn_no, role, kind, text, metadata, occurred_at,"
    " importance, base_importance, content_hash, tokens, embedding, embedder, expires_at, fact_key,"
    " status, duplicate_of, decay_half_life, decay_floor, ttl_days, ttl_from_ingest)"
    " SELECT u.id, %(ns)s, u.sid, u.turn, u.role, u.kind, u.text, u.meta, u.at, u.imp, u.imp, u.hash,"
    " u.tokens, u.emb, %(by)s, u.exp, u.fkey, u.status, u.dup, u.hl, u.floor, u.ttl, u.from_ingest"
    " FROM unnest(%(id)b::uuid[], %(sid)b::text[], %(turn)b::int[], %(role)b::text[], %(kind)b::text[],"
    " %(text)b::text[], %(meta)b::jsonb[], %(at)b::timestamptz[], %(imp)b::real[], %(hash)b::text[],"
    " %(tokens)b::int[], %(emb)b::vector[], %(exp)b::timestamptz[], %(fkey)b::text[], %(status)b::text[],"
    " %(dup)b::uuid[], %(hl)b::real[], %(floor)b::real[], %(ttl)b::int[], %(from_ingest)b::bool[])"
    " AS u(id, sid, turn, role, kind, text, meta, at, imp, hash, tokens, emb, exp, fkey, status, dup, hl,"
    " floor, ttl, from_ingest)"
    " ON CONFLICT DO NOTHING RETURNING id"
)


def insert_memories(conn: psycopg.Connection[Any], memories: Sequence[NewMemory]) -> set[UUID]:
    """Insert a batch in one statement; a row that loses an exact-dedup race is skipped. Returns
    the ids inserted. Every row is in one namespace (an ingest request's)."""
    return set(send_insert(conn, memories)())


# The turn number from the session row the same transaction has just updated (``turn`` is then how
# many turns before the session's last reserved one the row is).
_INSERT_NUMBERED = _INSERT.replace(
    " u.sid, u.turn,",
    " u.sid, (SELECT s.turn_count FROM sessions s WHERE s.namespace = %(ns)s AND s.session_id = u.sid)"
    " - u.turn,",
).replace("RETURNING id", "RETURNING id, turn_no")


_INSERT_STRICT = _INSERT.replace(" ON CONFLICT DO NOTHING", "")


def send_insert(
    conn: psycopg.Connection[Any],
    memories: Sequence[NewMemory],
    turns_back: Sequence[int] | None = None,
    *,
    strict: bool = False,
) -> Callable[[], dict[UUID, int]]:
    """``insert_memories`` sent (in a pipeline, with the statements that follow it); the returned
    function reads the inserted ids with their turn numbers. With ``turns_back``, a row's turn is its
    session's ``turn_count`` (reserved earlier in the transaction: ``sessions.send_reserve_turns``,
    possibly in the same pipeline) minus its entry; without, its ``turn_no``. ``strict``: a row
    another live row has the key of is not skipped but fails the statement (``UniqueViolation``:
    the transaction is lost), for a caller that sends what follows without reading the answer."""
    if not memories:
        return dict
    namespaces = {m.namespace for m in memories}
    if len(namespaces) != 1:
        raise ValueError("insert_memories takes one namespace's rows")
    params = {
        "ns": namespaces.pop(),
        "by": embedder_id(),  # which embedder made these vectors (memos reembed reads it)
        "id": [m.id for m in memories],
        "sid": [m.session_id for m in memories],
        "turn": list(turns_back) if turns_back is not None else [m.turn_no for m in memories],
        "role": [m.role for m in memories],
        "kind": [m.kind for m in memories],
        "text": [m.text for m in memories],
        "meta": [jsonb(m.metadata) for m in memories],
        "at": [m.occurred_at for m in memories],
        "imp": [m.importance for m in memories],
        "hash": [m.content_hash for m in memories],
        "tokens": [m.tokens for m in memories],
        "emb": [np.asarray(m.embedding, dtype=np.float32) for m in memories],
        "exp": [m.expires_at for m in memories],
        "fkey": [m.fact_key for m in memories],
        "status": [str(m.status) for m in memories],
        "dup": [m.duplicate_of for m in memories],
        "hl": [m.decay_half_life for m in memories],
        "floor": [m.decay_floor for m in memories],
        "ttl": [m.ttl_days for m in memories],
        "from_ingest": [m.ttl_from_ingest for m in memories],
    }
    if turns_back is not None:
        if strict:
            raise ValueError("a strict insert takes its turn numbers on the rows")
        numbered = conn.execute(_INSERT_NUMBERED, params)
        return lambda: {r["id"]: r["turn_no"] for r in numbered.fetchall()}
    cur, turns = (
        conn.execute(_INSERT_STRICT if strict else _INSERT, params),
        {m.id: m.turn_no for m in memories},
    )
    return lambda: {r["id"]: turns[r["id"]] for r in cur.fetchall()}


# One row (a single add): scalar parameters, which psycopg dumps in C, where a 1-element array
# goes through its Python array dumper (20 of them: ~0.2 ms of client CPU an add).
_INSERT_ONE = (
    "INSERT INTO memories (id, namespace, session_id, turn_no, role, kind, text, metadata, occurred_at,"
    " importance, base_importance, content_hash, tokens, embedding, embedder, expires_at, fact_key,"
    " status, duplicate_of, decay_half_life, decay_floor, ttl_days, ttl_from_ingest)"
    " VALUES (%(id)s, %(ns)s, %(sid)s, %(turn)s, %(role)s, %(kind)s, %(text)s, %(meta)s, %(at)s, %(imp)s,"
    " %(imp)s, %(hash)s, %(tokens)s, %(emb)b, %(by)s, %(exp)s, %(fkey)s, %(status)s, %(dup)s, %(hl)s,"
    " %(floor)s, %(ttl)s, %(from_ingest)s)"
)
# Numbered from the session row the same transaction has just updated (its last reserved turn).
_INSERT_ONE_NUMBERED = (
    _INSERT_ONE.replace(
        " %(turn)s,",
        " (SELECT s.turn_count FROM sessions s WHERE s.namespace = %(ns)s AND s.session_id = %(sid)s),",
    )
    + " ON CONFLICT DO NOTHING RETURNING id, turn_no"
)


def send_insert_one(
    conn: psycopg.Connection[Any], m: NewMemory, *, numbered: bool
) -> Callable[[], dict[UUID, int]]:
    """``send_insert`` of one row. ``numbered``: its turn is its session's ``turn_count`` (reserved
    earlier in the transaction) and a row that loses an exact-dedup race is skipped (the returned
    function reads {id: turn} of the row inserted, empty when skipped); else its ``turn_no`` and a
    row another live row has the key of fails the statement (``send_insert``'s ``strict``)."""
    params = {
        "id": m.id,
        "ns": m.namespace,
        "sid": m.session_id,
        "turn": m.turn_no,
        "role": m.role,
        "kind": m.kind,
        "text": m.text,
        "meta": jsonb(m.metadata),
        "at": m.occurred_at,
        "imp": m.importance,
        "hash": m.content_hash,
        "tokens": m.tokens,
        "emb": np.asarray(m.embedding, dtype=np.float32),
        "by": embedder_id(),
        "exp": m.expires_at,
        "fkey": m.fact_key,
        "status": str(m.status),
        "dup": m.duplicate_of,
        "hl": m.decay_half_life,
        "floor": m.decay_floor,
        "ttl": m.ttl_days,
        "from_ingest": m.ttl_from_ingest,
    }
    if numbered:
        cur = conn.execute(_INSERT_ONE_NUMBERED, params)
        return lambda: {r["id"]: r["turn_no"] for r in cur.fetchall()}
    conn.execute(_INSERT_ONE, params)
    return lambda: {m.id: m.turn_no}


def mark_seen_again(conn: psycopg.Connection[Any], ids: Sequence[UUID]) -> None:
    if ids:
        conn.execute(
            "UPDATE memories SET seen_count = seen_count + 1 WHERE id = ANY(%b::uuid[])", (list(ids),)
        )


def recent_turns(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, limit: int
) -> list[dict[str, Any]]:
    """The session's last live turns, oldest first, in the L1 window's shape."""
    rows = conn.execute(
        "SELECT id, role, text, occurred_at, turn_no, tokens FROM memories"
        f" WHERE namespace = %s AND session_id = %s AND {LIVE}"
        " ORDER BY turn_no DESC LIMIT %s",
        (namespace, session_id, limit),
    ).fetchall()
    return [window_entry(r) for r in reversed(rows)]


def recent_turn_ids(conn: psycopg.Connection[Any], namespace: str, session_id: str, limit: int) -> list[str]:
    """The ids ``recent_turns`` would return, oldest first: what an up-to-date L1 window holds."""
    return read_recent_turn_ids(send_recent_turn_ids(conn, namespace, session_id, limit))


def send_recent_turn_ids(
    conn: psycopg.Connection[Any], namespace: str, session_id: str, limit: int
) -> psycopg.Cursor[Any]:
    """``recent_turn_ids``'s statement (queued, in a pipeline); ``read_recent_turn_ids`` reads it."""
    return conn.execute(
        f"SELECT id FROM memories WHERE namespace = %s AND session_id = %s AND {LIVE}"
        " ORDER BY turn_no DESC LIMIT %s",
        (namespace, session_id, limit),
    )


def read_recent_turn_ids(cur: psycopg.Cursor[Any]) -> list[str]:
    return [str(r["id"]) for r in reversed(cur.fetchall())]


def _send_near(
    conn: psycopg.Connection[Any],
    namespace: str,
    items: Sequence[tuple[str | None, np.ndarray]],
    per_session: int,
    threshold: float,
) -> psycopg.Cursor[Any]:
    """Stored memories at cosine ≥ ``threshold`` to each item (session id or None, vector), as rows
    (i: the item's index, id, text, sim), compared in the database for the whole batch: an
    episodic item with its session's last ``per_session`` live turns, a fact or procedure (None)
    with the namespace's live facts and procedures."""
    return conn.execute(
        "WITH q AS (SELECT u.sid, u.v, u.i - 1 AS i FROM unnest(%(sid)b::text[], %(v)b::vector[])"
        # Vectors of another dimension than the column's (ingest embeds before reading which
        # embedder the stored vectors belong to; it reads again if it guessed wrong) match nothing.
        "   WITH ORDINALITY AS u(sid, v, i) WHERE vector_dims(u.v) = (SELECT dim FROM embedding_space)),"
        # Materialized: each session's turns are read once, not once per item of the session (inlined,
        # the planner ran the LATERAL scan for every item: 500 scans of 50 rows for a batch of 500).
        " turns AS MATERIALIZED (SELECT s.sid, m.id, m.text, m.embedding"
        "   FROM (SELECT DISTINCT sid FROM q WHERE sid IS NOT NULL) s"
        "   CROSS JOIN LATERAL (SELECT id, text, embedding FROM memories WHERE namespace = %(ns)s"
        f"     AND session_id = s.sid AND {active()} AND kind = 'episodic' ORDER BY turn_no DESC LIMIT %(k)s) m),"
        f" facts AS (SELECT id, text, embedding FROM memories WHERE namespace = %(ns)s AND {active()}"
        "   AND kind <> 'episodic' AND EXISTS (SELECT 1 FROM q WHERE sid IS NULL)),"
        " pairs AS (SELECT q.i, t.id, t.text, 1 - (t.embedding <=> q.v) AS sim FROM q JOIN turns t ON t.sid = q.sid"
        "   UNION ALL SELECT q.i, f.id, f.text, 1 - (f.embedding <=> q.v) FROM q CROSS JOIN facts f WHERE q.sid IS NULL)"
        " SELECT i, id, text, sim FROM pairs WHERE sim >= %(t)s",
        {
            "ns": namespace,
            "sid": [sid for sid, _ in items],
            "v": [np.asarray(v, dtype=np.float32) for _, v in items],
            "k": per_session,
            "t": threshold,
        },
    )


def send_before_write_one(
    conn: psycopg.Connection[Any],
    namespace: str,
    key: tuple[str | None, str],
    fact_key: str | None,
    embedding: np.ndarray,
    per_session: int,
    threshold: float,
) -> Callable[[], BeforeWrite]:
    """``send_before_write`` of one item (its key, fact key or None, vector), with scalar parameters;
    the near rows have ``i`` 0."""
    sid, content_hash = key
    if sid is not None:
        hashes = conn.execute(
            f"SELECT id FROM memories WHERE namespace = %s AND session_id = %s AND content_hash = %s"
            f" AND {active()} AND kind = 'episodic'",
            (namespace, sid, content_hash),
        )
    else:
        hashes = conn.execute(
            f"SELECT id FROM memories WHERE namespace = %s AND {active()} AND kind <> 'episodic'"
            " AND content_hash = %s",
            (namespace, content_hash),
        )
    facts = (
        conn.execute(
            f"SELECT id FROM memories WHERE namespace = %s AND {active()} AND fact_key = %s ORDER BY occurred_at",
            (namespace, fact_key),
        )
        if fact_key
        else None
    )
    params = {"ns": namespace, "sid": sid, "v": np.asarray(embedding, dtype=np.float32), "k": per_session}
    # As ``_send_near``: a vector of another dimension than the column's matches nothing.
    if sid is not None:
        near = conn.execute(_NEAR_ONE_TURNS, {**params, "t": threshold})
    else:
        near = conn.execute(_NEAR_ONE_FACTS, {**params, "t": threshold})

    def read() -> BeforeWrite:
        found = hashes.fetchone()
        fact_rows = facts.fetchall() if facts is not None else []
        return BeforeWrite(
            hashes={key: found["id"]} if found is not None else {},
            facts={fact_key: fact_rows[-1]["id"]} if fact_key and fact_rows else {},
            near=near.fetchall(),
        )

    return read


_NEAR_ONE_Q = (
    "WITH q AS MATERIALIZED (SELECT %(v)b::vector AS v"
    " WHERE vector_dims(%(v)b::vector) = (SELECT dim FROM embedding_space))"
)
_NEAR_ONE_TURNS = (
    _NEAR_ONE_Q + ", turns AS MATERIALIZED (SELECT id, text, embedding FROM memories WHERE namespace = %(ns)s"
    f"   AND session_id = %(sid)s AND {active()} AND kind = 'episodic' ORDER BY turn_no DESC LIMIT %(k)s)"
    " SELECT 0 AS i, t.id, t.text, 1 - (t.embedding <=> q.v) AS sim FROM q CROSS JOIN turns t"
    " WHERE 1 - (t.embedding <=> q.v) >= %(t)s"
)
_NEAR_ONE_FACTS = (
    _NEAR_ONE_Q
    + " SELECT 0 AS i, f.id, f.text, 1 - (f.embedding <=> q.v) AS sim FROM q CROSS JOIN memories f"
    f" WHERE f.namespace = %(ns)s AND {active('f')} AND f.kind <> 'episodic'"
    " AND 1 - (f.embedding <=> q.v) >= %(t)s"
)


_FACTS_BY_KEY = (
    f"SELECT fact_key, id FROM memories WHERE namespace = %s AND {active()} AND fact_key = ANY(%b::text[])"
    " ORDER BY occurred_at"
)


def supersede(conn: psycopg.Connection[Any], pairs: Sequence[tuple[UUID, UUID]]) -> None:
    """Mark each old fact superseded by its new one, keeping its last version in history (two
    statements for the batch). An old fact a later pair supersedes again ends with the last one."""
    if not pairs:
        return
    last = dict(pairs)  # old → its newest replacement (items are in request order)
    olds = sorted(last)
    conn.execute(
        "INSERT INTO memory_versions (memory_id, version, text, metadata, importance, status, change)"
        " SELECT id, version, text, metadata, importance, status, %s FROM memories WHERE id = ANY(%b::uuid[])"
        " ON CONFLICT (memory_id, version) DO NOTHING",
        (MemoryStatus.SUPERSEDED, olds),
    )
    conn.execute(
        "UPDATE memories m SET status = %s, superseded_by = u.new, version = m.version + 1, updated_at = now()"
        f" FROM unnest(%b::uuid[], %b::uuid[]) AS u(old, new) WHERE m.id = u.old AND {active('m')}",
        (MemoryStatus.SUPERSEDED, olds, [last[o] for o in olds]),
    )


def snapshot_version(conn: psycopg.Connection[Any], memory_id: UUID, change: str) -> None:
    """Keep the memory's current version in memory_versions before it changes (same transaction)."""
    conn.execute(
        "INSERT INTO memory_versions (memory_id, version, text, metadata, importance, status, change)"
        " SELECT id, version, text, metadata, importance, status, %s FROM memories WHERE id = %s"
        " ON CONFLICT (memory_id, version) DO NOTHING",
        (change, memory_id),
    )


def live_ids(conn: psycopg.Connection[Any], ids: Collection[str]) -> set[str]:
    """Which of these memory ids are still live (see LIVE)."""
    if not ids:
        return set()
    rows = conn.execute(
        f"SELECT id FROM memories WHERE id = ANY(%s::uuid[]) AND {LIVE}", (sorted(ids),)
    ).fetchall()
    return {str(r["id"]) for r in rows}


def window_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "memory_id": str(row["id"]),
        "role": row["role"],
        "text": row["text"],
        "occurred_at": row["occurred_at"].isoformat()
        if hasattr(row["occurred_at"], "isoformat")
        else row["occurred_at"],
        "turn_no": row["turn_no"],
        "tokens": row["tokens"],
    }


def get_memory(conn: psycopg.Connection[Any], memory_id: UUID) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories WHERE id = %s", (memory_id,)).fetchone()


def touch(conn: psycopg.Connection[Any], uses: Sequence[tuple[UUID, datetime]]) -> None:
    """Record accesses, (memory id, when) once per use: count the hits and restart the idle clock at
    the latest. Current importance follows from these with diminishing returns
    (``memos.memory.importance``); so does ``forget_at``. Rows are locked in id order (concurrent
    appliers never deadlock)."""
    if uses:
        conn.execute(
            "UPDATE memories m SET access_count = m.access_count + u.n,"
            " last_accessed_at = GREATEST(m.last_accessed_at, u.at)"
            " FROM (SELECT id, count(*) AS n, max(at) AS at FROM unnest(%s::uuid[], %s::timestamptz[]) AS x(id, at)"
            " GROUP BY id ORDER BY id) u WHERE m.id = u.id",
            ([i for i, _ in uses], [at for _, at in uses]),
        )


def list_page(
    conn: psycopg.Connection[Any],
    namespace: str,
    *,
    session_id: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Live memories newest first, one page of ``limit``, and the cursor to the next page (if any)."""
    clauses = ["namespace = %s", LIVE]
    params: list[Any] = [namespace]
    if session_id:
        clauses.append("session_id = %s")
        params.append(session_id)
    if kind:
        clauses.append("kind = %s")
        params.append(kind)
    if cursor:
        at, mid = paging.decode_cursor(_CURSOR_KIND, cursor, UUID)
        clauses.append("(created_at, id) < (%s, %s)")
        params += [at, mid]
    params.append(limit + 1)
    rows = conn.execute(
        f"SELECT {MEMORY_COLUMNS} FROM memories WHERE {' AND '.join(clauses)}"
        " ORDER BY created_at DESC, id DESC LIMIT %s",
        params,
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        paging.encode_cursor(_CURSOR_KIND, rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    )
    return rows, next_cursor


_CURSOR_KIND = "memories"


def lock_row(conn: psycopg.Connection[Any], memory_id: UUID) -> dict[str, Any] | None:
    """The whole row, locked for an edit or a delete in the caller's transaction."""
    row = conn.execute("SELECT * FROM memories WHERE id = %s FOR UPDATE", (memory_id,)).fetchone()
    return dict(row) if row is not None else None


@dataclass
class MemoryEdit:
    """What a PATCH changes; ``None`` leaves a field as it is (metadata is replaced whole)."""

    text: str | None = None
    content_hash: str | None = None
    tokens: int | None = None
    embedding: np.ndarray | None = None
    metadata: dict[str, Any] | None = None
    importance: float | None = None


def apply_edit(conn: psycopg.Connection[Any], memory_id: UUID, edit: MemoryEdit) -> None:
    """Write a new version (the caller kept the old one with ``snapshot_version``); a text another live
    memory already has raises ``psycopg.errors.UniqueViolation``."""
    sets: list[str] = ["version = version + 1", "updated_at = now()"]
    params: list[Any] = []
    if edit.text is not None:
        sets += ["text = %s", "content_hash = %s", "tokens = %s", "embedding = %s", "embedder = %s"]
        params += [edit.text, edit.content_hash, edit.tokens, edit.embedding, embedder_id()]
    if edit.metadata is not None:
        sets.append("metadata = %s")
        params.append(jsonb(edit.metadata))
    if edit.importance is not None:
        sets += ["importance = %s", "base_importance = %s"]
        params += [edit.importance, edit.importance]
    conn.execute(f"UPDATE memories SET {', '.join(sets)} WHERE id = %s", [*params, memory_id])


def versions(conn: psycopg.Connection[Any], memory_id: UUID) -> list[dict[str, Any]]:
    """Every earlier version of the memory, oldest first."""
    return conn.execute(
        "SELECT version, text, metadata, importance, status, changed_at, change FROM memory_versions"
        " WHERE memory_id = %s ORDER BY version",
        (memory_id,),
    ).fetchall()


def fact_chain(conn: psycopg.Connection[Any], memory_id: UUID) -> list[dict[str, Any]]:
    """Every value of the fact this memory holds: the ones it superseded, transitively, and the
    ones that superseded it, oldest first (valid_to = the replacing memory's occurred_at)."""
    return conn.execute(
        "WITH RECURSIVE back(id) AS (SELECT %(id)s::uuid UNION SELECT m.id FROM memories m"
        " JOIN back b ON m.superseded_by = b.id),"
        " fwd(id) AS (SELECT %(id)s::uuid UNION SELECT m.superseded_by FROM memories m"
        " JOIN fwd f ON m.id = f.id WHERE m.superseded_by IS NOT NULL)"
        " SELECT m.id AS memory_id, m.text, m.status, m.occurred_at AS valid_from,"
        " n.occurred_at AS valid_to, m.created_at AS recorded_at FROM memories m"
        " LEFT JOIN memories n ON n.id = m.superseded_by"
        " WHERE m.id IN (SELECT id FROM back UNION SELECT id FROM fwd) ORDER BY m.occurred_at, m.created_at",
        {"id": memory_id},
    ).fetchall()


def linked(conn: psycopg.Connection[Any], memory_id: UUID) -> list[dict[str, Any]]:
    """Memories that are duplicates of this one or were superseded by it."""
    return conn.execute(
        "SELECT id, duplicate_of, superseded_by FROM memories WHERE duplicate_of = %s OR superseded_by = %s",
        (memory_id, memory_id),
    ).fetchall()
