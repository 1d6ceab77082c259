"""Forgetting's SQL: tombstones, and every derived copy of a memory (caller's transaction).

A tombstone keeps a forgotten memory's id, times, status, content hash and who forgot it; its
text, metadata and embedding are wiped (``memos.memory.forget`` says what else is cleaned).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

from memos.store.db import jsonb
from memos.store.status import JobStatus

_FORGOTTEN_COLUMNS = "id, namespace, session_id, status, text, metadata"


def tombstone(
    conn: psycopg.Connection[Any], ids: Sequence[UUID], *, status: str | None, by: str | None
) -> list[dict[str, Any]]:
    """Wipe text, metadata and embedding of ``ids`` not yet forgotten (``status`` None keeps the
    row's status). Returns each row as it was (id, namespace, session_id, status, text, metadata)."""
    if not ids:
        return []
    return conn.execute(
        f"WITH old AS (SELECT {_FORGOTTEN_COLUMNS} FROM memories WHERE id = ANY(%s)"
        "   AND forgotten_at IS NULL ORDER BY id FOR UPDATE)"
        " UPDATE memories m SET text = '', metadata = '{}'::jsonb,"
        "   embedding = array_fill(0::real, ARRAY[vector_dims(m.embedding)])::vector,"
        "   status = coalesce(%s, m.status), forgotten_at = now(), forgotten_by = %s,"
        "   version = m.version + 1, updated_at = now()"
        " FROM old WHERE m.id = old.id"
        " RETURNING old.id, old.namespace, old.session_id, old.status, old.text, old.metadata",
        (list(ids), status, by),
    ).fetchall()


def rows_where(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Memories matching ``where`` as forgetting needs them (before a hard delete)."""
    return conn.execute(
        f"SELECT {_FORGOTTEN_COLUMNS} FROM memories WHERE {where} AND forgotten_at IS NULL", params
    ).fetchall()


def delete_versions(conn: psycopg.Connection[Any], ids: Sequence[UUID]) -> None:
    conn.execute("DELETE FROM memory_versions WHERE memory_id = ANY(%s)", (list(ids),))


def drop_evidence(conn: psycopg.Connection[Any], ids: Sequence[UUID]) -> list[UUID]:
    """Take ``ids`` out of L3 evidence (an entity's mention count drops with it); entities and
    relations left without evidence are deleted. Returns the deleted entity ids."""
    gone_entities: list[UUID] = []
    for table in ("relations", "entities"):
        count = (
            ", mention_count = GREATEST(0, mention_count - cardinality(ARRAY("
            "SELECT e FROM unnest(evidence) AS e WHERE e = ANY(%(ids)s))))"
            if table == "entities"
            else ""
        )
        emptied = conn.execute(
            f"UPDATE {table} SET evidence = ARRAY(SELECT e FROM unnest(evidence) AS e WHERE e <> ALL(%(ids)s))"
            f"{count} WHERE evidence && %(ids)s::uuid[] RETURNING id, cardinality(evidence) AS left_over",
            {"ids": list(ids)},
        ).fetchall()
        gone = [r["id"] for r in emptied if r["left_over"] == 0]
        if gone:
            conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (gone,))
        if table == "entities":
            gone_entities = gone
    return gone_entities


def summaries_of(
    conn: psycopg.Connection[Any], sessions: Collection[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every finished condensation of these (namespace, session) pairs, oldest first."""
    if not sessions:
        return []
    pairs = sorted(sessions)
    return conn.execute(
        "SELECT c.id, c.namespace, c.session_id, c.summary FROM condensations c"
        " JOIN unnest(%s::text[], %s::text[]) AS k(namespace, session_id)"
        "   ON c.namespace = k.namespace AND c.session_id = k.session_id"
        f" WHERE c.status = '{JobStatus.DONE}' AND c.summary IS NOT NULL ORDER BY c.to_turn FOR UPDATE OF c",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()


def rewrite_summary(
    conn: psycopg.Connection[Any], condensation_id: UUID, summary: dict[str, Any], text: str, tokens: int
) -> None:
    conn.execute(
        "UPDATE condensations SET summary = %s, summary_text = %s, tokens_after = %s WHERE id = %s",
        (jsonb(summary), text, tokens, condensation_id),
    )


def delete_packs(
    conn: psycopg.Connection[Any],
    namespaces: Collection[str],
    ids: Sequence[UUID],
    summarized_sessions: Collection[tuple[str, str]],
) -> int:
    """Delete stored context packs that hold any of ``ids`` (as an item or in the L1 window), or
    a summary of a session whose summaries folded one of them."""
    pairs = sorted(summarized_sessions)
    return conn.execute(
        "DELETE FROM context_packs p WHERE p.namespace = ANY(%(ns)s) AND ("
        " EXISTS (SELECT 1 FROM jsonb_array_elements(p.pack->'items') i WHERE i->>'memory_id' = ANY(%(ids)s))"
        " OR EXISTS (SELECT 1 FROM jsonb_array_elements(p.pack->'l1_window') w"
        "   WHERE w->>'memory_id' = ANY(%(ids)s))"
        " OR (p.pack->>'summary' IS NOT NULL AND (p.namespace, p.session_id) IN"
        "   (SELECT * FROM unnest(%(sn)s::text[], %(ss)s::text[]))))",
        {
            "ns": sorted(namespaces),
            "ids": [str(i) for i in ids],
            "sn": [p[0] for p in pairs],
            "ss": [p[1] for p in pairs],
        },
    ).rowcount
