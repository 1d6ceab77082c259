"""L3 storage: entities and relations per namespace, with evidence memory ids (caller's transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.store.db import jsonb
from memos.store.paging import like_escape, like_prefix
from memos.store.status import active

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

MAX_EVIDENCE = 1000  # newest evidence ids kept per entity or relation; mention_count keeps counting

_MERGE_EVIDENCE = (
    "(SELECT CASE WHEN cardinality(c) > {cap} THEN c[cardinality(c) - {cap} + 1:] ELSE c END FROM"
    " (SELECT {t}.evidence || ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL({t}.evidence))"
    " AS c) s)"
)
_UPSERT_ENTITIES = (
    "INSERT INTO entities AS e (id, namespace, name, normalized, type, aliases, evidence, mention_count)"
    " SELECT u.id, %(ns)s, u.name, u.norm, u.type,"
    "   ARRAY(SELECT a FROM jsonb_array_elements_text(u.aliases) WITH ORDINALITY AS j(a, k) ORDER BY k),"
    "   ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(u.ev) WITH ORDINALITY AS j(x, k) ORDER BY k),"
    "   u.n"
    " FROM unnest(%(id)b::uuid[], %(name)b::text[], %(norm)b::text[], %(type)b::text[], %(aliases)b::jsonb[],"
    "   %(ev)b::jsonb[], %(n)b::int[]) WITH ORDINALITY AS u(id, name, norm, type, aliases, ev, n, o)"
    " ORDER BY u.o"  # rows are inserted (and locked) in the caller's order
    " ON CONFLICT (namespace, normalized) DO UPDATE SET"
    "  mention_count = e.mention_count"
    "    + cardinality(ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL(e.evidence))),"
    f"  evidence = {_MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t='e')},"
    "  aliases = ARRAY(SELECT DISTINCT a FROM unnest(e.aliases || EXCLUDED.aliases) a WHERE a <> e.normalized),"
    "  type = CASE WHEN e.type = 'thing' THEN EXCLUDED.type ELSE e.type END,"
    "  last_seen = now()"
)
# Evidence that cannot be stored yet (memories inserted in this transaction: ingest): appended as is,
# counted as is, without comparing each new id with every stored one (up to MAX_EVIDENCE a row).
_UPSERT_ENTITIES_NEW_EVIDENCE = _UPSERT_ENTITIES.replace(
    "    + cardinality(ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL(e.evidence))),",
    "    + cardinality(EXCLUDED.evidence),",
).replace(
    _MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t="e"),
    _MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t="e").replace(
        "ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL(e.evidence))", "EXCLUDED.evidence"
    ),
)
_UPSERT_RELATION_BY_NAME = (
    "INSERT INTO relations AS r (id, namespace, subject_id, predicate, object_id, evidence)"
    " SELECT %(id)s, s.namespace, s.id, %(pred)s, o.id, %(ev)b::uuid[] FROM entities s, entities o"
    " WHERE s.namespace = %(ns)s AND s.normalized = %(s)s AND o.namespace = %(ns)s AND o.normalized = %(o)s"
    "   AND s.id <> o.id"
    " ON CONFLICT (namespace, subject_id, predicate, object_id) DO UPDATE SET"
    f"  evidence = {_MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t='r')}"
)


# ``normalized`` starts with the first name and a space: byte-wise between "<first> " and "<first>!"
# (space and "!" are adjacent bytes), which the (namespace, normalized text_pattern_ops) index serves
# (migration 0012); the same rows as LIKE '<first> %' with the first name's wildcards escaped.
_STARTS_WITH_FIRST = "normalized ~>=~ (f.first || ' ') AND normalized ~<~ (f.first || '!')"


def known(conn: psycopg.Connection[Any], namespace: str, names: Iterable[str]) -> dict[str, str]:
    """Existing entities by name or alias: name → the entity's normalized name."""
    return _send_known(conn, namespace, names)()


def send_known(conn: psycopg.Connection[Any], namespace: str, names: list[str]) -> psycopg.Cursor[Any]:
    """``known``'s statement (queued, in a pipeline); ``read_known`` reads its result."""
    # By name through the unique key, by alias among the namespace's aliased entities (migration 0011).
    return conn.execute(
        "SELECT normalized, aliases FROM entities WHERE namespace = %(ns)s AND normalized = ANY(%(names)b::text[])"
        " UNION ALL SELECT normalized, aliases FROM entities WHERE namespace = %(ns)s AND aliases <> '{}'"
        " AND aliases && %(names)b::text[]",
        {"ns": namespace, "names": names},
    )


def read_known(cur: psycopg.Cursor[Any], names: Iterable[str]) -> dict[str, str]:
    wanted = set(names)
    found: dict[str, str] = {}
    for r in cur.fetchall():
        for n in [r["normalized"], *r["aliases"]]:
            if n in wanted:
                found.setdefault(n, r["normalized"])
    return found


def _send_known(
    conn: psycopg.Connection[Any], namespace: str, names: Iterable[str]
) -> Callable[[], dict[str, str]]:
    """``send_known`` queued for later reading (in a caller's pipeline); nothing to read for no names."""
    wanted = list(set(names))
    if not wanted:
        return dict
    cur = send_known(conn, namespace, wanted)
    return lambda: read_known(cur, wanted)


@dataclass
class Lookups:
    """What resolving a batch's names needs from the stored entities (``send_lookups``)."""

    known: dict[str, str]  # a name or alias → the normalized name of the entity it belongs to
    persons: dict[str, list[str]]  # a one-word name → up to two stored persons whose name starts with it
    entries: dict[
        str, list[dict[str, Any]]
    ]  # a first name → up to three entities named it or starting with it


def send_lookups(
    conn: psycopg.Connection[Any], namespace: str, names: Collection[str]
) -> Callable[[], Lookups]:
    """Queue the reads of ``Lookups`` for these normalized names (in the caller's pipeline; the
    returned function reads them): every name by name or alias, every one-word name as a first
    name of stored persons, the first word of every longer name as a stored entity."""
    read_known = _send_known(conn, namespace, names)
    read_persons = _send_persons_with_first_names(conn, namespace, [n for n in names if " " not in n])
    read_entries = _send_first_name_entries(conn, namespace, [n.split(" ", 1)[0] for n in names if " " in n])
    return lambda: Lookups(read_known(), read_persons(), read_entries())


def _send_persons_with_first_names(
    conn: psycopg.Connection[Any], namespace: str, firsts: Collection[str]
) -> Callable[[], dict[str, list[str]]]:
    """For each first name, up to two stored person names that start with it and a space (two means
    ambiguous); one statement for all of them. A first name with none is absent."""
    names = sorted(set(firsts))
    if not names:
        return dict
    cur = conn.execute(
        "SELECT f.first, p.normalized FROM unnest(%b::text[]) AS f(first)"
        " CROSS JOIN LATERAL (SELECT normalized FROM entities WHERE namespace = %s AND type = 'person'"
        f"   AND {_STARTS_WITH_FIRST} LIMIT 2) p",
        (names, namespace),
    )

    def read() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for r in cur.fetchall():
            found.setdefault(r["first"], []).append(r["normalized"])
        return found

    return read


def _send_first_name_entries(
    conn: psycopg.Connection[Any], namespace: str, firsts: Collection[str]
) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """For each first name, up to three entities stored as the first name itself or as a person whose
    name starts with it; one statement for all of them. A first name with none is absent."""
    names = sorted(set(firsts))
    if not names:
        return dict
    cur = conn.execute(
        "SELECT f.first, e.id, e.normalized FROM unnest(%b::text[]) AS f(first)"
        " CROSS JOIN LATERAL (SELECT id, normalized FROM entities WHERE namespace = %s"
        f"   AND (normalized = f.first OR ({_STARTS_WITH_FIRST} AND type = 'person')) LIMIT 3) e",
        (names, namespace),
    )

    def read() -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for r in cur.fetchall():
            found.setdefault(r["first"], []).append({"id": r["id"], "normalized": r["normalized"]})
        return found

    return read


def rename_to_full_name(
    conn: psycopg.Connection[Any], entity_id: UUID, full: str, name: str, first: str
) -> None:
    """An entity stored under a first name becomes the full name's person, the first name an alias."""
    conn.execute(
        "UPDATE entities SET normalized = %s, name = %s, type = 'person',"
        " aliases = array_append(array_remove(aliases, %s), %s), last_seen = now() WHERE id = %s",
        (full, name, first, first, entity_id),
    )


def upsert(
    conn: psycopg.Connection[Any],
    namespace: str,
    entities: Sequence[tuple[str, str, str, list[str], list[UUID]]],
    *,
    new_evidence: bool = False,
) -> None:
    """Upsert (normalized, name, type, aliases, evidence) rows, normalized names distinct, in one
    statement; nothing is read back (no round trip of its own). ``new_evidence``: the evidence ids
    are memories inserted in this transaction, so no stored row holds them yet (the same rows as
    without it, without the comparisons).

    Pass them in one order everywhere (sorted names), so concurrent writers never deadlock.
    """
    if entities:
        conn.execute(
            _UPSERT_ENTITIES_NEW_EVIDENCE if new_evidence else _UPSERT_ENTITIES,
            {
                "ns": namespace,
                "id": [uuid.uuid4() for _ in entities],
                "name": [name for _, name, _, _, _ in entities],
                "norm": [n for n, _, _, _, _ in entities],
                "type": [type_ for _, _, type_, _, _ in entities],
                "aliases": [jsonb(aliases) for _, _, _, aliases, _ in entities],
                "ev": [jsonb([str(m) for m in evidence]) for _, _, _, _, evidence in entities],
                "n": [len(evidence) for _, _, _, _, evidence in entities],
            },
        )


def upsert_relations(
    conn: psycopg.Connection[Any], namespace: str, relations: Sequence[tuple[str, str, str, list[UUID]]]
) -> None:
    """Upsert (subject, predicate, object, evidence) rows, the parties by the normalized names they
    are stored under (``upsert`` them first, in the same transaction), evidence merged with what is
    stored. A relation of an entity with itself is not stored."""
    if relations:
        with conn.cursor() as cur:
            cur.executemany(
                _UPSERT_RELATION_BY_NAME,
                [
                    {"id": uuid.uuid4(), "ns": namespace, "s": s, "pred": pred, "o": o, "ev": ev}
                    for s, pred, o, ev in relations
                ],
            )


def with_live_evidence(
    conn: psycopg.Connection[Any], namespace: str, q: str | None, limit: int, anywhere: bool = False
) -> list[dict[str, Any]]:
    """Entities (most mentioned first) whose evidence still holds an active memory, evidence filtered.

    ``q`` (normalized) matches where a word of a name, the display name or an alias starts ("ana"
    finds "Ana Silva" and "Maria Ana", not "Banana" or "Santana"); with ``anywhere`` (scripts without
    spaces between words, such as Chinese) it matches anywhere. Wildcards are literal.
    """
    params: dict[str, Any] = {"ns": namespace, "limit": limit}
    where = ""
    if q is not None:
        params["q"] = "%" + like_escape(q) + "%" if anywhere else like_prefix(q)
        params["qw"] = "%" + like_escape(q) + "%" if anywhere else "% " + like_prefix(q)
        where = (
            " AND (e.normalized LIKE %(q)s OR e.normalized LIKE %(qw)s"
            " OR lower(e.name) LIKE %(q)s OR lower(e.name) LIKE %(qw)s"
            " OR EXISTS (SELECT 1 FROM unnest(e.aliases) a WHERE a LIKE %(q)s OR a LIKE %(qw)s))"
        )
    return conn.execute(
        "SELECT * FROM (SELECT e.id, e.name, e.normalized, e.type, e.aliases, e.mention_count, e.first_seen,"
        "   e.last_seen, ARRAY(SELECT m.id FROM unnest(e.evidence) WITH ORDINALITY AS u(id, o)"
        f"     JOIN memories m ON m.id = u.id WHERE m.namespace = e.namespace AND {active('m')}"
        "     ORDER BY u.o) AS evidence"  # in evidence order, not in whatever order the scan finds rows
        " FROM entities e WHERE e.namespace = %(ns)s" + where + ") x"
        " WHERE cardinality(x.evidence) > 0 ORDER BY x.mention_count DESC, x.last_seen DESC, x.normalized"
        " LIMIT %(limit)s",
        params,
    ).fetchall()


def relations_of(
    conn: psycopg.Connection[Any], namespace: str, entity_ids: list[UUID]
) -> list[dict[str, Any]]:
    """Relations touching these entities, oldest first, evidence filtered to active memories."""
    return conn.execute(
        "SELECT r.subject_id, s.name AS subject, r.predicate, r.object_id, o.name AS object,"
        "  ARRAY(SELECT m.id FROM unnest(r.evidence) WITH ORDINALITY AS u(id, o) JOIN memories m ON m.id = u.id"
        f"    WHERE {active('m')} ORDER BY u.o) AS evidence"
        " FROM relations r JOIN entities s ON s.id = r.subject_id JOIN entities o ON o.id = r.object_id"
        " WHERE r.namespace = %s AND (r.subject_id = ANY(%s) OR r.object_id = ANY(%s))"
        " ORDER BY r.created_at",
        (namespace, entity_ids, entity_ids),
    ).fetchall()


def evidence_counts(
    conn: psycopg.Connection[Any], namespace: str, names: Collection[str], memory_ids: Collection[UUID]
) -> dict[UUID, int]:
    """For each memory: how many of the named entities it is evidence for (absent when none)."""
    rows = conn.execute(
        "SELECT m AS memory_id, count(*) AS n FROM entities e, unnest(e.evidence) m"
        " WHERE e.namespace = %s AND e.normalized = ANY(%s) AND m = ANY(%s) GROUP BY m",
        (namespace, list(names), list(memory_ids)),
    ).fetchall()
    return {r["memory_id"]: r["n"] for r in rows}
