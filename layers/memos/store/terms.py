"""Term statistics per namespace (document frequency per stemmed term, documents, total terms): what
BM25 ranks with (``memos.retrieval.lexical``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def add(
    conn: psycopg.Connection[Any], namespace: str, df: Mapping[str, int], docs: int, total_terms: int
) -> None:
    """Add documents' counts to the namespace's statistics (in the caller's transaction)."""
    terms_sorted = sorted(df)  # one lock order for every writer: concurrent batches never deadlock
    conn.execute(
        "INSERT INTO term_stats AS t (namespace, term, df) SELECT %s, u.term, u.n FROM unnest(%s::text[], %s::bigint[])"
        " AS u(term, n) ON CONFLICT (namespace, term) DO UPDATE SET df = t.df + EXCLUDED.df",
        (namespace, terms_sorted, [df[t] for t in terms_sorted]),
    )
    conn.execute(
        "INSERT INTO namespace_stats AS s (namespace, docs, total_terms) VALUES (%s, %s, %s)"
        " ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + EXCLUDED.docs,"
        " total_terms = s.total_terms + EXCLUDED.total_terms",
        (namespace, docs, total_terms),
    )


def totals(conn: psycopg.Connection[Any], namespace: str) -> tuple[int, int]:
    """(documents, total terms) of the namespace; (0, 0) before its first memory."""
    row = conn.execute(
        "SELECT docs, total_terms FROM namespace_stats WHERE namespace = %s", (namespace,)
    ).fetchone()
    return (int(row["docs"]), int(row["total_terms"])) if row else (0, 0)


def document_frequencies(conn: psycopg.Connection[Any], namespace: str, terms: list[str]) -> dict[str, int]:
    """How many of the namespace's memories contain each of ``terms`` (absent terms are left out)."""
    rows = conn.execute(
        "SELECT term, df FROM term_stats WHERE namespace = %s AND term = ANY(%s)", (namespace, terms)
    ).fetchall()
    return {r["term"]: int(r["df"]) for r in rows}


def remove(
    conn: psycopg.Connection[Any], namespace: str, df: Mapping[str, int], docs: int, total_terms: int
) -> None:
    """Take forgotten documents' counts out of the namespace's statistics; a term no document holds
    any more is deleted (its row would name a forgotten word)."""
    terms_sorted = sorted(df)
    conn.execute(
        "UPDATE term_stats AS t SET df = t.df - u.n FROM unnest(%s::text[], %s::bigint[]) AS u(term, n)"
        " WHERE t.namespace = %s AND t.term = u.term",
        (terms_sorted, [df[t] for t in terms_sorted], namespace),
    )
    conn.execute(
        "DELETE FROM term_stats WHERE namespace = %s AND term = ANY(%s) AND df <= 0",
        (namespace, terms_sorted),
    )
    conn.execute(
        "UPDATE namespace_stats SET docs = GREATEST(0, docs - %s), total_terms = GREATEST(0, total_terms - %s)"
        " WHERE namespace = %s",
        (docs, total_terms, namespace),
    )
