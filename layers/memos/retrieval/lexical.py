"""BM25 over a namespace: term statistics kept at ingest, scoring in process over the candidates.

PostgreSQL full-text search finds lexical candidates (recall); this module scores them by IDF
coverage (the share of the query's IDF mass a memory contains; ``coverage``) and keeps Okapi BM25
(k1 = 1.2, b = 0.75) for comparison, both with the namespace's own document frequencies, so a word that every
turn of a conversation contains (a speaker's name, a project's name) counts for little and a rare
word for much. Terms are stemmed content words (``memos.kernel.text.content_terms``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.kernel.text import content_terms_many
from memos.store import terms

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

K1, B = 1.2, 0.75


def indexed_text(text: str, metadata: dict[str, Any] | None) -> str:
    """What a memory is about for search: its text and, for multi-party chats, its speaker."""
    speaker = (metadata or {}).get("speaker")
    return f"{speaker}: {text}" if isinstance(speaker, str) and speaker.strip() else text


def record_terms(conn: psycopg.Connection[Any], namespace: str, docs_in: Iterable[tuple[UUID, str]]) -> None:
    """Add live memories, as (memory id, indexed text), to the namespace's statistics (in the caller's
    transaction)."""
    df: Counter[str] = Counter()
    docs = total = 0
    for found in content_terms_many(text for _, text in docs_in):
        df.update(set(found))
        docs += 1
        total += len(found)
    if not docs:
        return
    terms.add(conn, namespace, df, docs, total)


@dataclass
class Stats:
    docs: int
    avgdl: float
    df: dict[str, int]

    def idf(self, term: str) -> float:
        n = self.df.get(term, 0)
        return math.log(1 + (self.docs - n + 0.5) / (n + 0.5))


def load_stats(conn: psycopg.Connection[Any], namespace: str, query_terms: list[str]) -> Stats:
    docs, total_terms = terms.totals(conn, namespace)
    avgdl = total_terms / docs if docs else 1.0
    df = terms.document_frequencies(conn, namespace, query_terms)
    return Stats(max(docs, 1), max(avgdl, 1.0), df)


def coverage(query_terms: list[str], doc_terms: list[str], stats: Stats) -> float:
    """Share of the query's information found in the memory: Σ idf of the query terms it contains
    / Σ idf of all query terms (0..1, the same scale for every query and namespace)."""
    wanted = set(query_terms)
    total = sum(stats.idf(t) for t in wanted)
    if not total or not doc_terms:
        return 0.0
    present = set(doc_terms)
    return sum(stats.idf(t) for t in wanted if t in present) / total


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
