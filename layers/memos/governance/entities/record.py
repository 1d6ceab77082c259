"""Recording mentions: resolve names to stored entities, then upsert entities and relations.

A first name and a full name merge within a namespace when the match is unambiguous (the shorter
form becomes an alias). ``mention_count`` counts distinct evidence memories, so recording the same
memory twice (ingest, then condensation) changes nothing. Runs inside the caller's transaction.
"""

from __future__ import annotations

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


def _resolve(conn: psycopg.Connection[Any], namespace: str, pending: dict[str, _Pending]) -> dict[str, str]:
    """Map each pending name to the normalized name it is stored under (aliases, first ↔ full name)."""
    canonical = store.known(conn, namespace, pending)
    persons = [n for n, p in pending.items() if p.type == "person" and n != USER]
    # A first name: the one full name in this batch, else in the namespace, that starts with it.
    in_batch = {
        n: [full for full in persons if full.startswith(n + " ")]
        for n, p in pending.items()
        if n not in canonical and n != USER and " " not in n and p.type in ("person", "thing")
    }
    stored = store.persons_with_first_names(conn, namespace, [n for n, full in in_batch.items() if not full])
    for n, full in in_batch.items():
        if len(full) == 1:
            canonical[n] = canonical.get(full[0], full[0])
        elif not full and len(stored.get(n, [])) == 1:
            canonical[n] = stored[n][0]
    # A full name: an entity stored under its first name alone becomes this full name, unless
    # another full name shares that first name (ambiguous). Each first name is looked up once.
    full_names = [
        n
        for n in persons
        if n not in canonical
        and " " in n
        and not any(o != n and o.startswith(n.split(" ", 1)[0] + " ") for o in persons)
    ]
    entries = store.first_name_entries(conn, namespace, [n.split(" ", 1)[0] for n in full_names])
    for n in full_names:
        first = n.split(" ", 1)[0]
        rows = entries.get(first, [])
        if len(rows) == 1 and rows[0]["normalized"] == first:
            store.rename_to_full_name(conn, rows[0]["id"], n, pending[n].name, first)
            canonical[first] = n
        canonical[n] = n
    return {n: canonical.get(n, n) for n in pending}


def _known_or_first_name(
    conn: psycopg.Connection[Any], namespace: str, unsure: set[str], batch: set[str]
) -> set[str]:
    """Sentence-initial names that are known: stored, or the first name of exactly one full name."""
    if not unsure:
        return set()
    known = set(store.known(conn, namespace, unsure))
    firsts = sorted(n for n in unsure - known if " " not in n)
    stored = store.persons_with_first_names(conn, namespace, firsts)
    for n in firsts:
        in_batch = [b for b in batch if b.startswith(n + " ")]
        if len(set(in_batch) | set(stored.get(n, []))) == 1:
            known.add(n)
    return known


def record_mentions(conn: psycopg.Connection[Any], namespace: str, items: list[tuple[UUID, str]]) -> None:
    """Upsert the entities and relations mentioned in ``items`` (memory id, text), with evidence."""
    extracted: dict[str, tuple[list[Mention], list[Relation]]] = {}  # one text, many memories: once
    for _, text in items:
        if text not in extracted:
            extracted[text] = extract(text)
    parsed = [(mid, *extracted[text]) for mid, text in items]
    unsure = {m.normalized for _, ms, _ in parsed for m in ms if not m.confident}
    known = _known_or_first_name(conn, namespace, unsure, {m.normalized for _, ms, _ in parsed for m in ms})
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

    canonical = _resolve(conn, namespace, pending)
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

    ids = store.upsert(
        conn,
        namespace,
        [(n, p.name, p.type, sorted(p.aliases), p.evidence) for n, p in sorted(merged.items())],
    )
    rel_rows = []
    for (s, pred, o), ev in sorted(rels.items()):
        sid, oid = ids.get(canonical.get(s, s)), ids.get(canonical.get(o, o))
        if sid is not None and oid is not None and sid != oid:
            rel_rows.append((sid, pred, oid, list(ev)))
    store.upsert_relations(conn, namespace, rel_rows)
