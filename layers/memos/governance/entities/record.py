"""Recording mentions: resolve names to stored entities, then upsert entities and relations.

A first name and a full name merge within a namespace when the match is unambiguous (the shorter
form becomes an alias). ``mention_count`` counts distinct evidence memories, so recording the same
memory twice (ingest, then condensation) changes nothing. Runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.governance.entities.extract import extract
from memos.governance.entities.names import USER, Mention, Relation
from memos.store import entities as store

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


@dataclass
class _Pending:
    name: str
    type: str
    aliases: set[str] = field(default_factory=set)
    evidence: list[UUID] = field(default_factory=list)
    _seen: set[UUID] = field(default_factory=set)

    def add(self, memory_id: UUID) -> None:
        if memory_id not in self._seen:
            self._seen.add(memory_id)
            self.evidence.append(memory_id)


def _resolve(
    conn: psycopg.Connection[Any], pending: dict[str, _Pending], stored: store.Lookups
) -> dict[str, str]:
    """Map each pending name to the normalized name it is stored under (aliases, first ↔ full name)."""
    canonical = {n: stored.known[n] for n in pending if n in stored.known}
    persons = [n for n, p in pending.items() if p.type == "person" and n != USER]
    for n, p in pending.items():
        if n in canonical or n == USER or " " in n or p.type not in ("person", "thing"):
            continue
        # A first name: the one full name in this batch, else in the namespace, that starts with it.
        in_batch = [full for full in persons if full.startswith(n + " ")]
        if len(in_batch) == 1:
            canonical[n] = canonical.get(in_batch[0], in_batch[0])
        elif not in_batch and len(stored.persons.get(n, [])) == 1:
            canonical[n] = stored.persons[n][0]
    for n in persons:
        if n in canonical or " " not in n:
            continue
        # A full name: an entity stored under its first name alone becomes this full name, unless
        # another full name shares that first name (ambiguous).
        first = n.split(" ", 1)[0]
        if any(o != n and o.startswith(first + " ") for o in persons):
            continue
        rows = stored.entries.get(first, [])
        if len(rows) == 1 and rows[0]["normalized"] == first:
            store.rename_to_full_name(conn, rows[0]["id"], n, pending[n].name, first)
            canonical[first] = n
        canonical[n] = n
    return {n: canonical.get(n, n) for n in pending}


def _known_or_first_name(unsure: set[str], batch: set[str], stored: store.Lookups) -> set[str]:
    """Sentence-initial names that are known: stored, or the first name of exactly one full name."""
    known = {n for n in unsure if n in stored.known}
    for n in unsure - known:
        if " " in n:
            continue
        in_batch = [b for b in batch if b.startswith(n + " ")]
        if len(set(in_batch) | set(stored.persons.get(n, []))) == 1:
            known.add(n)
    return known


Extracted = dict[str, tuple[list[Mention], list[Relation]]]


def extract_all(texts: Iterable[str]) -> Extracted:
    """The mentions and relations of each distinct text."""
    extracted: Extracted = {}
    for text in texts:
        if text not in extracted:
            extracted[text] = extract(text)
    return extracted


def names_in(extracted: Extracted) -> set[str]:
    """Every normalized name the texts mention (what ``store.send_lookups`` looks up)."""
    return {
        m.normalized
        for ms, rs in extracted.values()
        for m in [*ms, *(p for r in rs for p in (r.subject, r.object))]
    }


def send_lookups(
    conn: psycopg.Connection[Any], namespace: str, extracted: Extracted
) -> Callable[[], store.Lookups]:
    """Queue the stored-entity reads that ``record_mentions`` needs for these texts (in the caller's
    pipeline, e.g. with ingest's other reads); the returned function reads them."""
    return store.send_lookups(conn, namespace, names_in(extracted))


def record_mentions(
    conn: psycopg.Connection[Any],
    namespace: str,
    items: list[tuple[UUID, str]],
    prepared: tuple[Extracted, store.Lookups] | None = None,
    *,
    new_memories: bool = False,
) -> None:
    """Upsert the entities and relations mentioned in ``items`` (memory id, text), with evidence.
    ``prepared``: the texts' extraction and lookups read earlier in the transaction (``extract_all``,
    ``send_lookups``, covering at least these texts); else they are made here (one round trip).
    ``new_memories``: the items were inserted in this transaction (ingest; ``store.upsert``)."""
    if prepared is None:
        extracted = extract_all(text for _, text in items)
        with conn.pipeline():
            read = send_lookups(conn, namespace, extracted)
        lookups = read()
    else:
        extracted, lookups = prepared
    parsed = [(mid, *extracted[text]) for mid, text in items]
    unsure = {m.normalized for _, ms, _ in parsed for m in ms if not m.confident}
    known = _known_or_first_name(unsure, {m.normalized for _, ms, _ in parsed for m in ms}, lookups)
    pending: dict[str, _Pending] = {}
    rels: dict[tuple[str, str, str], dict[UUID, None]] = {}  # ordered sets of evidence

    def note(m: Mention, memory_id: UUID) -> None:
        p = pending.setdefault(m.normalized, _Pending(m.name, m.type))
        if p.type == "thing":
            p.type = m.type
        p.add(memory_id)

    for mid, mentions, relations in parsed:
        for m in mentions:
            if m.confident or m.normalized in known:
                note(m, mid)
        for r in relations:
            note(r.subject, mid)
            note(r.object, mid)
            rels.setdefault((r.subject.normalized, r.predicate, r.object.normalized), {})[mid] = None
    if not pending:
        return

    canonical = _resolve(conn, pending, lookups)
    merged: dict[str, _Pending] = {}
    for n, p in pending.items():
        target = canonical[n]
        into = merged.setdefault(
            target, _Pending(pending[target].name if target in pending else p.name, p.type)
        )
        if into.type == "thing":
            into.type = p.type
        if n != target:
            into.aliases.add(n)
        for mid in p.evidence:
            into.add(mid)

    store.upsert(
        conn,
        namespace,
        [(n, p.name, p.type, sorted(p.aliases), p.evidence) for n, p in sorted(merged.items())],
        new_evidence=new_memories,
    )
    store.upsert_relations(
        conn,
        namespace,
        [
            (canonical.get(s, s), pred, canonical.get(o, o), list(ev))
            for (s, pred, o), ev in sorted(rels.items())
        ],
    )
