"""Impact-ordered postings per namespace: (term, impact, memory) rows that lexical candidates are read
from (``memos.store.candidates``), a bounded number per query term. See migration 0006."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.kernel.text import content_terms, indexed_text

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

K1, B = 1.2, 0.75  # Okapi BM25


def impact(tf: int, doc_len: int, avgdl: float) -> float:
    """A term's BM25 frequency part in one memory: Σ idf × impact over the query terms is Okapi BM25."""
    return round(tf * (K1 + 1) / (tf + K1 * (1 - B + B * doc_len / avgdl)), 4)


def of_terms(memory_id: UUID, words: list[str], avgdl: float) -> list[tuple[UUID, str, float]]:
    """The postings of one memory whose ``indexed_text`` has these content terms."""
    return [(memory_id, term, impact) for term, impact in term_impacts(words, avgdl)]


def term_impacts(words: list[str], avgdl: float) -> list[tuple[str, float]]:
    """(term, ``impact``) of each distinct term of one memory's content terms, in order of first use:
    the length part computed once per memory and each impact once per term frequency (most terms
    occur once): the same arithmetic, in the same order."""
    norm = K1 * (1 - B + B * len(words) / avgdl)
    tfs = Counter(words)
    by_tf = {tf: round(tf * (K1 + 1) / (tf + norm), 4) for tf in set(tfs.values())}
    return [(term, by_tf[tf]) for term, tf in tfs.items()]


def add(conn: psycopg.Connection[Any], namespace: str, rows: Sequence[tuple[UUID, str, float]]) -> None:
    """Store (memory id, term, impact) postings (in the caller's transaction); a retried write of the
    same posting is a no-op."""
    if not rows:
        return
    conn.execute(
        "INSERT INTO postings (namespace, memory_id, term, impact)"
        " SELECT %s, u.m, u.t, u.i FROM unnest(%b::uuid[], %b::text[], %b::real[]) AS u(m, t, i)"
        " ON CONFLICT DO NOTHING",
        (namespace, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
    )


def add_with_terms(
    conn: psycopg.Connection[Any],
    namespace: str,
    docs: Sequence[tuple[UUID, list[tuple[str, float]]]],
    *,
    new_memories: bool = False,
) -> None:
    """``add`` and ``memory_terms.put`` in one statement, for memories given as (id, its (term, impact)
    postings, distinct terms in order of first use: ``of_terms``' order): the postings, and each
    memory's terms in that order (``memory_terms``; a memory's earlier row is replaced). The ids
    travel once per memory, its rows refer to them by position. ``new_memories``: the memories were
    inserted in this transaction (ingest), so neither table can hold a row of theirs: plain inserts,
    without the conflict checks (a speculative insert per row cost ~40 % more on a 100k namespace's
    postings), postings in index order; a conflict would fail the transaction, not pass silently."""
    if not docs:
        return
    flat = [(k, term, imp) for k, (_, found) in enumerate(docs, start=1) for term, imp in found]
    conn.execute(
        "WITH u AS (SELECT (%(ids)b::uuid[])[u.k] AS m, u.k, u.t, u.i, u.o"
        "   FROM unnest(%(k)b::int[], %(t)b::text[], %(i)b::real[]) WITH ORDINALITY AS u(k, t, i, o)),"
        " p AS (INSERT INTO postings (namespace, memory_id, term, impact) SELECT %(ns)s, m, t, i FROM u"
        + (" ORDER BY t, i DESC, m)" if new_memories else " ON CONFLICT DO NOTHING)")
        + " INSERT INTO memory_terms (memory_id, terms)"
        " SELECT d.m, coalesce(array_agg(u.t ORDER BY u.o) FILTER (WHERE u.t IS NOT NULL), '{}')"
        " FROM unnest(%(ids)b::uuid[]) WITH ORDINALITY AS d(m, k) LEFT JOIN u ON u.k = d.k GROUP BY d.k, d.m"
        + ("" if new_memories else " ON CONFLICT (memory_id) DO UPDATE SET terms = EXCLUDED.terms"),
        {
            "ns": namespace,
            "ids": [memory_id for memory_id, _ in docs],
            "k": [f[0] for f in flat],
            "t": [f[1] for f in flat],
            "i": [f[2] for f in flat],
        },
    )


def add_one_new(
    conn: psycopg.Connection[Any], namespace: str, memory_id: UUID, found: list[tuple[str, float]]
) -> None:
    """``add_with_terms`` of one memory inserted in this transaction (``new_memories``; a single add):
    the same rows, its id a scalar and its terms' array its ``memory_terms`` row as it is (distinct,
    in order of first use), so no positions travel."""
    conn.execute(
        "WITH p AS (INSERT INTO postings (namespace, memory_id, term, impact)"
        "   SELECT %(ns)s, %(id)s, u.t, u.i FROM unnest(%(t)b::text[], %(i)b::real[]) AS u(t, i)"
        "   ORDER BY u.t, u.i DESC)"
        " INSERT INTO memory_terms (memory_id, terms) VALUES (%(id)s, %(t)b::text[])",
        {"ns": namespace, "id": memory_id, "t": [t for t, _ in found], "i": [i for _, i in found]},
    )


def remove(
    conn: psycopg.Connection[Any], namespace: str, memory_ids: Collection[UUID], terms: Collection[str]
) -> None:
    """Delete the postings of forgotten memories (``terms``: every term they held)."""
    if memory_ids and terms:
        conn.execute(
            "DELETE FROM postings WHERE namespace = %s AND term = ANY(%s) AND memory_id = ANY(%s)",
            (namespace, sorted(terms), list(memory_ids)),
        )


def backfill(conn: psycopg.Connection[Any], batch: int = 5_000) -> int:
    """Postings for memories stored before migration 0006 (every row the term statistics count:
    not a near-duplicate, not forgotten), in the caller's transaction. Returns rows indexed."""
    avgdl = {
        r["namespace"]: max(1.0, r["total_terms"] / max(1, r["docs"]))
        for r in conn.execute("SELECT namespace, docs, total_terms FROM namespace_stats").fetchall()
    }
    done = 0
    with conn.cursor(name="postings_backfill") as cur:
        cur.execute(
            "SELECT id, namespace, text, metadata FROM memories WHERE status <> 'duplicate'"
            " AND forgotten_at IS NULL ORDER BY namespace"
        )
        while rows := cur.fetchmany(batch):
            by_ns: dict[str, list[tuple[UUID, str, float]]] = {}
            for r in rows:
                words = content_terms(indexed_text(r["text"], r["metadata"]))
                found = of_terms(r["id"], words, avgdl.get(r["namespace"], 1.0))
                by_ns.setdefault(r["namespace"], []).extend(found)
            for namespace, postings in by_ns.items():
                add(conn, namespace, postings)
            done += len(rows)
    return done
