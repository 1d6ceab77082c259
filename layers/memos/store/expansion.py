"""Second-round (multi-hop) candidates: the nearest memories to each probe of a question, in one
statement. A probe is a vector and, optionally, an entity name: with a name, only memories that
are L3 evidence for that entity (by normalized name or alias) are ranked for it.

The caller (``memos.retrieval.multihop``) decides when a second round is worth it; this module
only reads, under the same filters as the first round (``memos.store.candidates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memos.models import QueryRequest
from memos.store.candidates import ROW_COLUMNS as _COLUMNS
from memos.store.candidates import filters_sql, is_selective, nearest_filter

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def probe_candidates(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    qvec: Any,
    probes: Sequence[tuple[Any, str | None]],
    limit: int,
    *,
    ann_index: bool = False,
) -> list[dict[str, Any]]:
    """For each (vector, entity name or None) probe, its ``limit`` nearest memories, each row with
    ``probe`` (0-based index into ``probes``), ``psim`` (cosine to that probe's vector) and ``vsim``
    (cosine to the question's vector ``qvec``).

    Unnamed probes use the HNSW index (iterative scan, like the first round); named probes rank
    only the entity's evidence memories by exact distance (a few hundred at most: an evidence list
    is capped, ``memos.store.entities.MAX_EVIDENCE``), so they never scan the namespace.
    """
    if not probes:
        return []
    where, params = filters_sql(req)
    free = [(i, v) for i, (v, name) in enumerate(probes) if name is None]
    named = [(i, v, name) for i, (v, name) in enumerate(probes) if name is not None]
    parts: list[str] = []
    # Each probe's distance is computed once per row it ranks (the order, then psim from it), and the
    # distance to the question only for the rows kept.
    kept = ", ".join(f"y.{c.strip()}" for c in _COLUMNS.split(","))
    ranked = f"SELECT {kept}, 1 - y.d AS psim, 1 - (y.embedding <=> %(qvec)s) AS vsim FROM (SELECT {_COLUMNS}, embedding"
    if free:
        parts.append(
            "SELECT p.probe::int - 1 AS probe, x.* FROM unnest(%(free_vecs)b::vector[], %(free_ids)s::int[])"
            f" AS p(vec, probe) CROSS JOIN LATERAL ({ranked}, embedding <=> p.vec AS d"
            f"  FROM memories WHERE {nearest_filter(conn, req, ann_index)}"
            "   ORDER BY d LIMIT %(n)s) y) x"
        )
        params["free_vecs"] = [v for _, v in free]
        params["free_ids"] = [i + 1 for i, _ in free]
    if named:
        # ``+ 0`` keeps the planner off the HNSW index: the evidence list is the candidate set (the
        # entity by name through its unique key, by alias among the namespace's aliased entities),
        # each memory read by its primary key (OFFSET 0 keeps it so: with a wrong row estimate for
        # the namespace, an ``id = ANY(list)`` filter was applied to a scan of the whole namespace).
        parts.append(
            "SELECT p.probe::int - 1 AS probe, x.* FROM unnest(%(named_vecs)b::vector[], %(named_ids)s::int[],"
            f" %(names)s::text[]) AS p(vec, probe, name) CROSS JOIN LATERAL ({ranked}, (embedding <=> p.vec) + 0 AS d"
            "  FROM (SELECT unnest(e.evidence) AS evidence_id FROM entities e WHERE e.namespace = %(ns)s"
            "     AND e.normalized = p.name UNION SELECT unnest(e.evidence) FROM entities e"
            "     WHERE e.namespace = %(ns)s AND e.aliases <> '{}' AND p.name = ANY(e.aliases)) ev"
            "   CROSS JOIN LATERAL (SELECT * FROM memories m0 WHERE m0.id = ev.evidence_id OFFSET 0) memories"
            f"  WHERE {where} ORDER BY d LIMIT %(n)s) y) x"
        )
        params["named_vecs"] = [v for _, v, _ in named]
        params["named_ids"] = [i + 1 for i, _, _ in named]
        params["names"] = [name for _, _, name in named]
    params.update(n=limit, qvec=qvec)
    statement = " UNION ALL ".join(parts)
    if not (free and ann_index and not is_selective(req)):
        return conn.execute(statement, params).fetchall()
    # As in the first round (memos.store.candidates.fetch): planned without sorts, so the free probes
    # walk the namespace's index whatever the planner's row estimate (a named probe still sorts its
    # evidence list, which has no other plan); sorting is back on after it, in the same round trip.
    with conn.pipeline():
        conn.execute("SET LOCAL enable_sort = off")
        cur = conn.execute(statement, params)
        conn.execute("SET LOCAL enable_sort TO DEFAULT")
    return cur.fetchall()


def part_similarities(
    conn: psycopg.Connection[Any], namespace: str, ids: Sequence[Any], vecs: Sequence[Any]
) -> list[dict[str, Any]]:
    """The cosine of each of the memories ``ids`` (in ``namespace``) to each of ``vecs``: rows of
    ``id``, ``probe`` (0-based index into ``vecs``) and ``psim``. Reads only those rows, by primary
    key (a question's candidates: a few dozen)."""
    if not len(ids) or not len(vecs):
        return []
    return conn.execute(
        "SELECT m.id, p.probe::int - 1 AS probe, 1 - (m.embedding <=> p.vec) AS psim"
        " FROM unnest(%(vecs)b::vector[], %(probes)s::int[]) AS p(vec, probe)"
        " CROSS JOIN memories m WHERE m.namespace = %(ns)s AND m.id = ANY(%(ids)s)",
        {"vecs": list(vecs), "probes": list(range(1, len(vecs) + 1)), "ns": namespace, "ids": list(ids)},
    ).fetchall()
