"""Reading L3: the entity listing, the entities a query names, and memories' entity overlap."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.governance.entities.names import USER, normalize_name
from memos.kernel.text import STOPWORDS, normalize
from memos.store import entities as store

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

_QUERY_WORD = re.compile(r"[\w@.+'\u2019-]+|[\u4e00-\u9fff]+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def list_entities(
    conn: psycopg.Connection[Any], namespace: str, q: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Entities (most mentioned first) with their relations; evidence lists only live memories.

    An entity whose every evidence memory was deleted or expired is not listed: forgetting a
    memory forgets what only it said. ``q`` matches the start of a word of a name or alias
    (anywhere for Chinese, which has no spaces between words).
    """
    query = normalize(q) if q else None
    rows = store.with_live_evidence(
        conn, namespace, query, limit, anywhere=bool(query and _CJK_RUN.search(query))
    )
    if not rows:
        return []
    rel_rows = store.relations_of(conn, namespace, [r["id"] for r in rows])
    out = []
    for r in rows:
        relations = [
            {
                "subject": rel["subject"],
                "predicate": rel["predicate"],
                "object": rel["object"],
                "evidence": rel["evidence"],
            }
            for rel in rel_rows
            if r["id"] in (rel["subject_id"], rel["object_id"]) and rel["evidence"]
        ]
        out.append({**r, "relations": relations})
    return out


def query_ngrams(text: str, max_words: int = 4, max_grams: int = 400) -> list[str]:
    """Candidate names in a query: word n-grams (stopwords alone skipped), CJK 2-6 character runs."""
    grams: list[str] = []
    tokens = [normalize_name(t) for t in _QUERY_WORD.findall(unicodedata.normalize("NFKC", text))]
    tokens = [t for t in tokens if t]
    for i in range(len(tokens)):
        tok = tokens[i]
        if _CJK_RUN.fullmatch(tok):  # CJK runs: every 2-6 character substring
            grams += [tok[a:b] for a in range(len(tok)) for b in range(a + 2, min(len(tok), a + 6) + 1)]
            continue
        for n in range(1, max_words + 1):
            if i + n <= len(tokens):
                gram = " ".join(tokens[i : i + n])
                if n > 1 or gram not in STOPWORDS:
                    grams.append(gram)
    return list(dict.fromkeys(grams))[:max_grams]


def query_entities(conn: psycopg.Connection[Any], namespace: str, text: str) -> set[str]:
    """Normalized names of the namespace's known entities that a query mentions (by name or alias)."""
    grams = names_to_look_up(text)
    return set(store.known(conn, namespace, grams).values()) if grams else set()


def names_to_look_up(text: str) -> list[str]:
    """What ``query_entities`` looks up (``memos.store.entities.known``) for a query's text; the
    query path reads it with its other first reads (``memos.store.first_reads``)."""
    return [g for g in query_ngrams(text) if g != USER]


def memory_entity_overlap(
    conn: psycopg.Connection[Any],
    namespace: str,
    query_entities: Collection[str],
    memory_ids: Collection[UUID],
    counted: Mapping[UUID, int] | None = None,
) -> dict[UUID, float]:
    """For each memory: the share of the query's entities it is evidence for (0.0 when none).
    ``counted``: evidence counts already read (with the candidates, ``memos.store.candidates``);
    the other memories' are read here."""
    if not query_entities or not memory_ids:
        return dict.fromkeys(memory_ids, 0.0)
    total = len(set(query_entities))
    # One pass over the memories (a UUID's hash is a Python call: ~300 of them a query when the
    # counts were filtered against the memories first, ~140 so).
    out: dict[UUID, float] = {}
    missing: list[UUID] = []
    known = (counted or {}).get
    for memory_id in memory_ids:
        n = known(memory_id)
        if n is None:
            missing.append(memory_id)
            out[memory_id] = 0.0
        else:
            out[memory_id] = round(min(1.0, n / total), 4) if n else 0.0
    if missing:
        for memory_id, n in store.evidence_counts(conn, namespace, query_entities, missing).items():
            if n and memory_id in out:
                out[memory_id] = round(min(1.0, n / total), 4)
    return out
