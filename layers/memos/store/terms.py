"""Term statistics per namespace (document frequency per stemmed term, documents, total terms): what
BM25 ranks with (``memos.retrieval.lexical``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def add(
    conn: psycopg.Connection[Any],
    namespace: str,
    df: Mapping[str, int],
    docs: int,
    total_terms: int,
    *,
    before: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Add documents' counts to the namespace's statistics (in the caller's transaction); returns the
    namespace's (documents, total terms) after the change: read back, or, given the ``before`` read
    earlier in the transaction (``send_totals``), computed from it without a round trip (a batch
    another writer commits in between is then not in the sum; it only feeds BM25's average length)."""
    terms_sorted = sorted(df)  # one lock order for every writer: concurrent batches never deadlock
    # One statement; the namespace's row is written after the terms' (its SELECT reads the CTE to
    # the end first), the order ``remove`` takes them in.
    cur = conn.execute(
        "WITH t AS (INSERT INTO term_stats AS t (namespace, term, df)"
        "   SELECT %(ns)s, u.term, u.n FROM unnest(%(terms)b::text[], %(df)b::bigint[]) AS u(term, n)"
        "   ON CONFLICT (namespace, term) DO UPDATE SET df = t.df + EXCLUDED.df RETURNING 1)"
        " INSERT INTO namespace_stats AS s (namespace, docs, total_terms)"
        " SELECT %(ns)s, %(docs)s, %(total)s FROM (SELECT count(*) FROM t) AS written"
        " ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + EXCLUDED.docs,"
        " total_terms = s.total_terms + EXCLUDED.total_terms RETURNING docs, total_terms",
        {
            "ns": namespace,
            "terms": terms_sorted,
            "df": [df[t] for t in terms_sorted],
            "docs": docs,
            "total": total_terms,
        },
    )
    if before is not None:
        return before[0] + docs, before[1] + total_terms
    row = cur.fetchone()
    assert row is not None
    return int(row["docs"]), int(row["total_terms"])


def add_one(
    conn: psycopg.Connection[Any],
    namespace: str,
    distinct_terms: Collection[str],
    total_terms: int,
    *,
    before: tuple[int, int],
) -> tuple[int, int]:
    """``add`` of one document (each of its distinct terms' frequency 1), with ``before``: the same
    rows, without the frequencies' array."""
    conn.execute(
        "WITH t AS (INSERT INTO term_stats AS t (namespace, term, df)"
        "   SELECT %(ns)s, u.term, 1 FROM unnest(%(terms)b::text[]) AS u(term)"
        "   ON CONFLICT (namespace, term) DO UPDATE SET df = t.df + EXCLUDED.df RETURNING 1)"
        " INSERT INTO namespace_stats AS s (namespace, docs, total_terms)"
        " SELECT %(ns)s, 1, %(total)s FROM (SELECT count(*) FROM t) AS written"
        " ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + EXCLUDED.docs,"
        " total_terms = s.total_terms + EXCLUDED.total_terms",
        {"ns": namespace, "terms": sorted(distinct_terms), "total": total_terms},
    )
    return before[0] + 1, before[1] + total_terms


def send_totals(conn: psycopg.Connection[Any], namespace: str) -> Callable[[], tuple[int, int]]:
    """Queue the read of the namespace's (documents, total terms) (in the caller's pipeline); the
    returned function reads it ((0, 0) before the namespace's first memory)."""
    cur = conn.execute("SELECT docs, total_terms FROM namespace_stats WHERE namespace = %s", (namespace,))

    def read() -> tuple[int, int]:
        row = cur.fetchone()
        return (int(row["docs"]), int(row["total_terms"])) if row is not None else (0, 0)

    return read


def load(conn: psycopg.Connection[Any], namespace: str, terms: list[str]) -> tuple[int, int, dict[str, int]]:
    """(documents, total terms, document frequency of each of ``terms`` that occurs) in one round trip;
    (0, 0, {}) before the namespace's first memory."""
    return read_load(send_load(conn, namespace, terms))


def send_load(conn: psycopg.Connection[Any], namespace: str, terms: list[str]) -> psycopg.Cursor[Any]:
    """``load``'s statement (queued, in a pipeline); ``read_load`` reads its result."""
    return conn.execute(
        "SELECT NULL AS term, docs AS n, total_terms FROM namespace_stats WHERE namespace = %(ns)s"
        " UNION ALL SELECT term, df, NULL FROM term_stats WHERE namespace = %(ns)s AND term = ANY(%(terms)s)",
        {"ns": namespace, "terms": terms},
    )


def read_load(cur: psycopg.Cursor[Any]) -> tuple[int, int, dict[str, int]]:
    rows = cur.fetchall()
    docs = total = 0
    df: dict[str, int] = {}
    for r in rows:
        if r["term"] is None:
            docs, total = int(r["n"]), int(r["total_terms"])
        else:
            df[r["term"]] = int(r["n"])
    return docs, total, df


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
