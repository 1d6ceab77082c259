"""Second-round (multi-hop) candidates: the nearest memories to each probe of a question, in one
statement. A probe is a vector and, optionally, an entity name: with a name, only memories that
are L3 evidence for that entity (by normalized name or alias) are ranked for it.

The caller (``memos.retrieval.multihop``) decides when a second round is worth it; this module
only reads, under the same filters as the first round (``memos.store.candidates``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from memos.models import QueryRequest
from memos.store import ann
from memos.store.candidates import (
    DEFAULT_PLANS,
    GENERIC_PLANS,
    counted_rows,
    filters_sql,
    is_selective,
    nearest_filter,
    send_evidence,
    with_evidence,
)
from memos.store.candidates import ROW_COLUMNS as _COLUMNS
from memos.store.entities import MAX_EVIDENCE

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

# A named probe ranks at most this many of its entity's evidence ids, the newest: the whole list (a
# list keeps its newest MAX_EVIDENCE ids). Each is a row read by primary key: 2 probes over whole lists
# took 6.0-6.3 ms in a 100k namespace against 0.5 ms at 5k. Ranking the newest 250 (500) took 0.33x
# (0.57x) the time there, but kept only 0.93 (0.96) of the question's top 10: left at the whole list
# until that trade is measured against answers known to be right (docs/BENCHMARKS.md, "Ninth round").
RANKED_EVIDENCE = MAX_EVIDENCE


def probes_and_parts(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    qvec: Any,
    probes: Sequence[tuple[Any, str | None]],
    limit: int,
    *,
    ann_index: ann.Graph | None = None,
    part_ids: Sequence[Any] = (),
    part_vecs: Sequence[Any] = (),
    entity_names: Sequence[str] = (),
    evidence_counts: Mapping[str, int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For each (vector, entity name or None) probe, its ``limit`` nearest memories, each row with
    ``probe`` (0-based index into ``probes``), ``psim`` (cosine to that probe's vector), ``vsim``
    (cosine to the question's vector ``qvec``) and ``terms`` (its stored content terms,
    ``memory_terms``; NULL for a memory stored without them); and, in the same round trip,
    ``part_similarities`` of the memories ``part_ids`` to ``part_vecs``.

    Unnamed probes walk the namespace's graph (iterative scan, like the first round) with the exact
    nearest of its backlog (``memos.store.ann.nearest_sql``); named probes rank only the entity's
    evidence memories by exact distance (a few hundred at most: an evidence list is capped,
    ``memos.store.entities.MAX_EVIDENCE``), so they never scan the namespace. With ``part_vecs``,
    each probe row also carries ``part_psims``:
    its cosine to each of them (so every memory either list names is measured against every part);
    with ``entity_names`` (the query's known entities), ``entity_n``: how many of them it is L3
    evidence for (as the first round's rows, ``memos.store.candidates.fetch``), from
    ``evidence_counts`` when given (the first round's, ``fetch(counted=...)``: the lists are not
    read again), else read in the same round trip."""
    if not probes:
        return [], part_similarities(conn, req.namespace, part_ids, part_vecs)
    where, params = filters_sql(req)
    with_parts = len(part_vecs) > 0
    if with_parts:
        params["part_vecs"] = list(part_vecs)
    free = [(i, v) for i, (v, name) in enumerate(probes) if name is None]
    named = [(i, v, name) for i, (v, name) in enumerate(probes) if name is not None]
    sql_parts: list[str] = []
    # Each probe's distance is computed once per row it ranks (the order, then psim from it), and the
    # distance to the question only for the rows kept.
    kept = ", ".join(f"y.{c.strip()}" for c in _COLUMNS.split(","))
    selected = (
        f"SELECT {kept}, 1 - y.d AS psim, 1 - (y.embedding <=> %(qvec)s) AS vsim,"
        " (SELECT t.terms FROM memory_terms t WHERE t.memory_id = y.id) AS terms"
        + (
            ", ARRAY["
            + ", ".join(
                f"1 - (y.embedding <=> (%(part_vecs)b::vector[])[{i + 1}])" for i in range(len(part_vecs))
            )
            + "] AS part_psims"
            if with_parts
            else ""
        )
    )
    if free:
        graph = ann_index if not is_selective(req) else None
        nearest = ann.nearest_sql(
            f"{_COLUMNS}, embedding, embedding <=> p.vec AS d",
            "d",
            "%(n)s",
            graph,
            nearest_filter(conn, req, graph),
            where,
            "d",
            walk_order=ann.walk_order(graph, "p.vec"),
        )
        sql_parts.append(
            "SELECT p.probe::int - 1 AS probe, x.* FROM unnest(%(free_vecs)b::vector[], %(free_ids)s::int[])"
            f" AS p(vec, probe) CROSS JOIN LATERAL ({selected} FROM ({nearest}) y) x"
        )
        params["free_vecs"] = [v for _, v in free]
        params["free_ids"] = [i + 1 for i, _ in free]
    if named:
        # ``+ 0`` keeps the planner off the HNSW index: the evidence list is the candidate set (the
        # entity by name through its unique key, by alias among the namespace's aliased entities),
        # each memory read by its primary key (OFFSET 0 keeps it so: with a wrong row estimate for
        # the namespace, an ``id = ANY(list)`` filter was applied to a scan of the whole namespace).
        # Only the newest RANKED_EVIDENCE ids of a list are ranked (a list keeps up to MAX_EVIDENCE,
        # newest last): the probe's cost stays bounded as the namespace grows. The ranking is a narrow
        # pass (each row's address and distance), the kept rows' columns read after by address, as
        # the first round's exact nearest (``memos.store.candidates``).
        newest = "e.evidence[greatest(cardinality(e.evidence) - %(ranked)s + 1, 1):]"
        sql_parts.append(
            "SELECT p.probe::int - 1 AS probe, x.* FROM unnest(%(named_vecs)b::vector[], %(named_ids)s::int[],"
            f" %(names)s::text[]) AS p(vec, probe, name) CROSS JOIN LATERAL ({selected} FROM"
            f" (SELECT m.*, k.d FROM (SELECT memories.at, (embedding <=> p.vec) + 0 AS d"
            f"  FROM (SELECT unnest({newest}) AS evidence_id FROM entities e WHERE e.namespace = %(ns)s"
            f"     AND e.normalized = p.name UNION SELECT unnest({newest}) FROM entities e"
            "     WHERE e.namespace = %(ns)s AND e.aliases <> '{}' AND p.name = ANY(e.aliases)) ev"
            "   CROSS JOIN LATERAL (SELECT m0.ctid AS at, * FROM memories m0 WHERE m0.id = ev.evidence_id OFFSET 0)"
            " memories"
            f"  WHERE {where} ORDER BY d LIMIT %(n)s) k"
            f"  CROSS JOIN LATERAL (SELECT {_COLUMNS}, embedding FROM memories m1 WHERE m1.ctid = k.at OFFSET 0) m"
            ") y) x"
        )
        params["ranked"] = RANKED_EVIDENCE
        params["named_vecs"] = [v for _, v, _ in named]
        params["named_ids"] = [i + 1 for i, _, _ in named]
        params["names"] = [name for _, _, name in named]
    params.update(n=limit, qvec=qvec)
    statement = " UNION ALL ".join(sql_parts)
    # As in the first round (memos.store.candidates.fetch): planned without sorts, so the free probes
    # walk the namespace's index whatever the planner's row estimate (a named probe still sorts its
    # evidence list, which has no other plan); sorting is back on after it, in the same round trip.
    # Named probes only (a relational question's bridges): prepared at once with a generic plan, as
    # the first round's statements are once psycopg has prepared them. The statement has a few shapes
    # (probes, entity names), its plan does not depend on the values (keys and evidence lists), and the
    # second round runs too rarely for psycopg's threshold (5 runs of one text on one connection), so
    # it was planned every time: 0.91 against 0.48 ms p50 for a statement that often finds nothing (a
    # bridge the namespace holds no evidence for). Free probes walk the graph for 2-4 ms each; they
    # keep their custom plan (a generic one measured 1.08-1.09x, no faster; docs/BENCHMARKS.md).
    unsorted = bool(free and ann_index and not is_selective(req))
    evidence = None
    with conn.pipeline():
        # Counted per row in Python (``candidates.with_evidence``), from the first round's read if given.
        if entity_names and evidence_counts is None:
            evidence = send_evidence(conn, req.namespace, entity_names)
        if not free:
            conn.execute(GENERIC_PLANS)
        if unsorted:
            conn.execute("SET LOCAL enable_sort = off")
        cur = conn.execute(statement, params, prepare=True if not free else None)
        if unsorted:
            conn.execute("SET LOCAL enable_sort TO DEFAULT")
        if not free:
            conn.execute(DEFAULT_PLANS)
        sims = (
            _send_part_similarities(conn, req.namespace, part_ids, part_vecs)
            if len(part_ids) and with_parts
            else None
        )
    found = cur.fetchall()
    if entity_names and evidence_counts is not None:
        found = counted_rows(found, evidence_counts)
    return with_evidence(found, evidence), sims.fetchall() if sims is not None else []


def part_similarities(
    conn: psycopg.Connection[Any], namespace: str, ids: Sequence[Any], vecs: Sequence[Any]
) -> list[dict[str, Any]]:
    """The cosine of each of the memories ``ids`` (in ``namespace``) to each of ``vecs``: rows of
    ``id``, ``probe`` (0-based index into ``vecs``) and ``psim``. Reads only those rows, by primary
    key (a question's candidates: a few dozen)."""
    if not len(ids) or not len(vecs):
        return []
    return _send_part_similarities(conn, namespace, ids, vecs).fetchall()


def _send_part_similarities(
    conn: psycopg.Connection[Any], namespace: str, ids: Sequence[Any], vecs: Sequence[Any]
) -> psycopg.Cursor[Any]:
    # The rows by primary key first, the namespace checked after (OFFSET 0 keeps the two steps
    # apart): joined with both conditions, the planner, expecting a few dozen rows in the namespace,
    # read all of it through ``memories_ns_recent`` and kept the ids (5,087 rows read for 62 kept,
    # 2.2 ms at 5k memories; docs/BENCHMARKS.md, "Second round, eighth round").
    return conn.execute(
        "SELECT m.id, p.probe::int - 1 AS probe, 1 - (m.embedding <=> p.vec) AS psim"
        " FROM (SELECT m0.id, m0.namespace, m0.embedding FROM memories m0 WHERE m0.id = ANY(%(ids)s)"
        " OFFSET 0) m CROSS JOIN unnest(%(pvecs)b::vector[], %(probes)s::int[]) AS p(vec, probe)"
        " WHERE m.namespace = %(ns)s",
        {"pvecs": list(vecs), "probes": list(range(1, len(vecs) + 1)), "ns": namespace, "ids": list(ids)},
    )
