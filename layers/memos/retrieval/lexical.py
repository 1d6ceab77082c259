"""BM25 over a namespace: term statistics kept at ingest, scoring in process over the candidates.

Impact-ordered postings (``memos.store.postings``) find lexical candidates (recall); this module scores them by IDF
coverage (the share of the query's IDF mass a memory contains; ``Coverage``) and keeps Okapi BM25
(k1 = 1.2, b = 0.75) for comparison, both with the namespace's own document frequencies, so a word that every
turn of a conversation contains (a speaker's name, a project's name) counts for little and a rare
word for much. Terms are stemmed content words (``memos.kernel.text.content_terms``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.kernel.text import content_terms, content_terms_many, indexed_text
from memos.store import memory_terms, postings, terms
from memos.store.status import MemoryStatus

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

K1, B = postings.K1, postings.B
UBIQUITOUS = 0.3  # words in more than this share of a namespace's memories do not select candidates
LEXICAL_TERMS = 8  # the rarest query words that select candidates from the postings


def record_terms(
    conn: psycopg.Connection[Any],
    namespace: str,
    docs: Iterable[tuple[UUID, str]],
    before: tuple[int, int] | None = None,
    *,
    new_memories: bool = False,
) -> None:
    """Add live memories, as (memory id, ``indexed_text``), to the namespace's statistics and postings
    (in the caller's transaction); each distinct word of the batch is stemmed once. ``before``: the
    namespace's (documents, total terms) read earlier in the transaction (``terms.send_totals``).
    ``new_memories``: inserted in this transaction (``postings.add_with_terms``)."""
    docs = list(docs)
    found = content_terms_many(text for _, text in docs)
    record_found_terms(
        conn,
        namespace,
        [(memory_id, words) for (memory_id, _), words in zip(docs, found, strict=True)],
        before,
        new_memories=new_memories,
    )


def record_found_terms(
    conn: psycopg.Connection[Any],
    namespace: str,
    docs: Sequence[tuple[UUID, list[str]]],
    before: tuple[int, int] | None = None,
    *,
    new_memories: bool = False,
) -> None:
    """``record_terms`` of memories given as (memory id, content terms of its ``indexed_text``), for a
    caller that has them (ingest tokenises each text once: ``content_terms_and_indexed``)."""
    if len(docs) == 1 and new_memories and before is not None:  # a single add: scalar statements
        memory_id, words = docs[0]
        n, all_terms = terms.add_one(conn, namespace, set(words), len(words), before=before)
        avgdl = max(1.0, all_terms / max(n, 1))
        postings.add_one_new(conn, namespace, memory_id, postings.term_impacts(words, avgdl))
        return
    df: Counter[str] = Counter()
    total = 0
    for _, words in docs:
        df.update(set(words))
        total += len(words)
    if not docs:
        return
    n, all_terms = terms.add(conn, namespace, df, len(docs), total, before=before)
    avgdl = max(1.0, all_terms / max(n, 1))
    # The postings and each memory's terms (their distinct terms, in order of first use) in one
    # statement.
    postings.add_with_terms(
        conn,
        namespace,
        [(memory_id, postings.term_impacts(words, avgdl)) for memory_id, words in docs],
        new_memories=new_memories,
    )


def forget_terms(conn: psycopg.Connection[Any], rows: Iterable[dict[str, Any]]) -> None:
    """Take memories (rows as they were: id, namespace, status, text, metadata) back out of the
    statistics and postings ``record_terms`` put them in (near-duplicates were never counted)."""
    rows_list = list(rows)
    counted = [r for r in rows_list if r["status"] != MemoryStatus.DUPLICATE]
    by_ns: dict[str, list[tuple[UUID, list[str]]]] = defaultdict(list)
    found = content_terms_many(indexed_text(r["text"], r["metadata"]) for r in counted)
    for r, words in zip(counted, found, strict=True):
        by_ns[r["namespace"]].append((r["id"], words))
    for namespace, docs in by_ns.items():
        df: Counter[str] = Counter()
        for _, words in docs:
            df.update(set(words))
        terms.remove(conn, namespace, df, len(docs), sum(len(d) for _, d in docs))
        postings.remove(conn, namespace, [i for i, _ in docs], df.keys())
    memory_terms.remove(conn, [r["id"] for r in rows_list])


def terms_of_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Each candidate row's content terms: the stored ones (``terms``, read with the candidates from
    ``memory_terms``), else its ``indexed_text`` tokenised (rows stored before they were kept, and
    second-round rows), the rest in one ``content_terms_many`` call."""
    out: list[list[str] | None] = [row.get("terms") for row in rows]
    missing = [i for i, found in enumerate(out) if found is None]
    if missing:
        from memos.store.candidates import metadata_of  # the query path's (ingest does not load it)

        tokenised = content_terms_many(indexed_text(rows[i]["text"], metadata_of(rows[i])) for i in missing)
        for i, found in zip(missing, tokenised, strict=True):
            out[i] = found
    return [found or [] for found in out]


@dataclass
class Stats:
    docs: int
    avgdl: float
    df: dict[str, int]

    def idf(self, term: str) -> float:
        n = self.df.get(term, 0)
        return math.log(1 + (self.docs - n + 0.5) / (n + 0.5))


def load_stats(conn: psycopg.Connection[Any], namespace: str, query_terms: list[str]) -> Stats:
    return stats_of(*terms.load(conn, namespace, query_terms))


def stats_of(docs: int, total_terms: int, df: dict[str, int]) -> Stats:
    """Statistics from ``memos.store.terms.load``'s (documents, total terms, document frequencies)."""
    avgdl = total_terms / docs if docs else 1.0
    return Stats(max(docs, 1), max(avgdl, 1.0), df)


def query_terms(query: str, stats: Stats) -> list[tuple[str, float]]:
    """The query's terms that select lexical candidates, rarest first, with their idf: only terms
    the namespace has (others have no postings), none that most memories contain (in a namespace
    of 20 or more), at most LEXICAL_TERMS."""
    found = [t for t in dict.fromkeys(content_terms(query)) if stats.df.get(t)]
    if stats.docs >= 20:
        found = [t for t in found if stats.df[t] / stats.docs <= UBIQUITOUS]
    found.sort(key=lambda t: stats.df[t])
    return [(t, stats.idf(t)) for t in found[:LEXICAL_TERMS]]


class Coverage:
    """Share of the query's information found in a memory: Σ idf of the query terms it contains
    / Σ idf of all query terms (0..1, the same scale for every query and namespace). Built once
    per query (its idf weights), called once per memory."""

    def __init__(self, query_terms: list[str], stats: Stats) -> None:
        self.weights = {t: stats.idf(t) for t in set(query_terms)}
        self.total = sum(self.weights.values())

    def add(self, term: str, weight: float) -> None:
        """Count ``term`` (a term the scorer derives, not a word of the query) with ``weight``."""
        self.weights[term] = weight
        self.total += weight

    def __call__(self, doc_terms: list[str]) -> float:
        if not self.total or not doc_terms:
            return 0.0
        present = set(doc_terms)
        return sum(w for t, w in self.weights.items() if t in present) / self.total


def bm25(query_terms: list[str], doc_terms: list[str], stats: Stats) -> float:
    if not query_terms or not doc_terms:
        return 0.0
    tf = Counter(doc_terms)
    norm = K1 * (1 - B + B * len(doc_terms) / stats.avgdl)
    score = 0.0
    for term in set(query_terms):
        f = tf.get(term, 0)
        if f:
            score += stats.idf(term) * f * (K1 + 1) / (f + norm)
    return score
