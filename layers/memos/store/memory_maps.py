"""Reads behind the ops console's memory maps: the rows the decay heatmap weighs, and the vectors
the embedding map projects. Every read names one namespace (and optionally one session).

Mappable memories are the live ones and those kept for history with their text and vector
(duplicates, superseded facts). Expired and deleted memories are forgotten: they are only counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.status import LIVE, MemoryStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

PREVIEW_CHARS = 160
MAPPABLE = f"(({LIVE}) OR status IN ('{MemoryStatus.DUPLICATE}', '{MemoryStatus.SUPERSEDED}'))"


def _array(vector: Any) -> Any:
    """A pgvector value as a numpy array."""
    return vector.to_numpy() if hasattr(vector, "to_numpy") else vector


def _where(namespace: str, session_id: str | None, condition: str) -> tuple[str, list[Any]]:
    where, params = f"namespace = %s AND {condition}", [namespace]
    if session_id is not None:
        where += " AND session_id = %s"
        params.append(session_id)
    return where, params


def decay_rows(
    conn: psycopg.Connection[Any], namespace: str, session_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Live memories, newest ingested first, with what their decay depends on (``limit`` rows at most)."""
    where, params = _where(namespace, session_id, LIVE)
    return conn.execute(
        "SELECT id, session_id, kind, role, left(text, %s) AS text, base_importance, importance,"
        " access_count, created_at, last_accessed_at, occurred_at, expires_at"
        f" FROM memories WHERE {where} ORDER BY created_at DESC, id DESC LIMIT %s",
        [PREVIEW_CHARS, *params, limit],
    ).fetchall()


def status_counts(conn: psycopg.Connection[Any], namespace: str, session_id: str | None) -> dict[str, int]:
    """Rows by state: live, duplicate, superseded, expired (an active row past its expiry counts
    here), deleted. Counts only: nothing of a forgotten memory is read."""
    where, params = _where(namespace, session_id, "TRUE")
    row = conn.execute(
        f"SELECT count(*) FILTER (WHERE {LIVE}) AS live,"
        f" count(*) FILTER (WHERE status = '{MemoryStatus.DUPLICATE}') AS duplicate,"
        f" count(*) FILTER (WHERE status = '{MemoryStatus.SUPERSEDED}') AS superseded,"
        f" count(*) FILTER (WHERE status = '{MemoryStatus.EXPIRED}' OR (status = '{MemoryStatus.ACTIVE}'"
        "   AND expires_at <= now())) AS expired,"
        f" count(*) FILTER (WHERE status = '{MemoryStatus.DELETED}') AS deleted"
        f" FROM memories WHERE {where}",
        params,
    ).fetchone()
    return {k: int(v) for k, v in (row or {}).items()}


def map_fingerprint(conn: psycopg.Connection[Any], namespace: str, session_id: str | None) -> tuple[Any, ...]:
    """What changes when the mappable set changes (a write, an edit, a dedup, a forget)."""
    where, params = _where(namespace, session_id, MAPPABLE)
    row = conn.execute(
        f"SELECT count(*) AS n, count(*) FILTER (WHERE status = '{MemoryStatus.ACTIVE}') AS active,"
        f" max(created_at) AS created, max(updated_at) AS updated FROM memories WHERE {where}",
        params,
    ).fetchone()
    return tuple((row or {}).values())


def map_sample(
    conn: psycopg.Connection[Any], namespace: str, session_id: str | None, limit: int
) -> list[Any]:
    """The vectors of up to ``limit`` mappable memories. Ids are random (UUIDv4), so the first
    ``limit`` by id are a uniform sample, and the same one until the set changes."""
    where, params = _where(namespace, session_id, MAPPABLE)
    rows = conn.execute(
        f"SELECT embedding FROM memories WHERE {where} ORDER BY id LIMIT %s", [*params, limit]
    ).fetchall()
    return [_array(r["embedding"]) for r in rows]


def map_page(
    conn: psycopg.Connection[Any],
    namespace: str,
    session_id: str | None,
    after: UUID | None,
    limit: int,
    l1_window: int,
) -> list[dict[str, Any]]:
    """Mappable memories in id order after ``after``, with their vectors, links and whether each
    is in its session's L1 window (the last ``l1_window`` live turns, as the window is rebuilt)."""
    where, params = _where(namespace, session_id, MAPPABLE)
    if after is not None:
        where += " AND id > %s"
        params.append(after)
    rows = conn.execute(
        "SELECT id, session_id, kind, role, status, left(text, %s) AS text, duplicate_of, superseded_by,"
        f" embedding, ({LIVE}) AND (SELECT count(*) FROM (SELECT 1 FROM memories n"
        f"   WHERE n.namespace = m.namespace AND n.session_id = m.session_id AND n.turn_no > m.turn_no"
        f"   AND n.status = '{MemoryStatus.ACTIVE}' AND (n.expires_at IS NULL OR n.expires_at > now())"
        "   LIMIT %s) newer) < %s AS in_l1"
        f" FROM memories m WHERE {where} ORDER BY id LIMIT %s",
        [PREVIEW_CHARS, l1_window, l1_window, *params, limit],
    ).fetchall()
    return [{**r, "embedding": _array(r["embedding"])} for r in rows]


def map_vectors(conn: psycopg.Connection[Any], namespace: str, ids: list[UUID]) -> dict[UUID, Any]:
    """The vectors of those of ``ids`` that are mappable memories of ``namespace``."""
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT id, embedding FROM memories WHERE namespace = %s AND id = ANY(%s) AND {MAPPABLE}",
        (namespace, ids),
    ).fetchall()
    return {r["id"]: _array(r["embedding"]) for r in rows}
