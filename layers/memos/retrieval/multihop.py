"""Multi-hop retrieval: a bounded second round for questions whose answer is spread over turns.

The first round (``memos.store.candidates``) finds what the question's words and meaning point
at. Two kinds of question need more than that:

- **conjunctive** ("What does Zoe work as, and what is her dog called?"): each part has its own
  evidence, and the whole question's vector sits between them. The question is split into its
  parts (at ``and`` / commas / ``?`` that start a new wh-clause); each part is a probe.
- **bridged** ("Where does Zoe's cousin live?"): the first round finds the turn that names the
  cousin ("My cousin Mia is visiting") but not the one about Mia ("Mia moved to Lisbon"). The
  entities the best first-round rows name that the question does not (L3's extraction rules on
  those rows' texts) are bridges; each is a probe restricted to the memories L3 holds as that
  entity's evidence, ranked by the question plus the entity's name.

Cost is bounded: nothing runs unless the question has parts or names a relation L3 knows through
someone (a possessive or "my/their" before a kinship or workplace word: "Zoe's cousin", "the company
Zoe works for"); then one embedding call for at most MAX_PROBES probes and one statement
(``memos.store.expansion``) returning at most PROBE_LIMIT rows per probe, plus, for a question with
parts, one statement measuring every candidate against each part (by primary key).

A probe's similarity is put on the question's own vector scale: the probe's calibrated value
(``memos.embeddings.calibration``) is mapped back to the cosine that gives the same value for the
whole question, so scoring treats every candidate alike. A bridged row is never put closer than
the row that named its bridge (a second hop is no surer than its first). A memory keeps the best
of its first-round and probe similarities, except in a question with parts: there every candidate
(the first round's too) is as close as the part it is closest to, and its similarity to the whole
question no longer counts (that vector sits between the parts, near small talk that answers none
of them). Lexical, entity and prior components still come from the whole question. Formula and
measurements: docs/RETRIEVAL.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from memos.embeddings.calibration import scale_of
from memos.governance.entities import USER, extract_entities
from memos.governance.entities.english import KINSHIP
from memos.governance.entities.lookup import query_ngrams
from memos.kernel.text import content_terms
from memos.models import QueryRequest
from memos.retrieval import lexical
from memos.store import ann, expansion

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

    from memos.embeddings import Embedder

MAX_PROBES = 4  # parts and bridges together: one statement of at most this many small scans
PROBE_LIMIT = 12  # rows per probe
TOP_ROWS = 3  # first-round rows whose entities may bridge
MAX_BRIDGES = 2
BRIDGE_TYPES = ("person", "org", "thing")  # who or what a relation points at; places are answers
WORKPLACE = "employer|company|firm|workplace|office|school|university|team"

_WH = r"(?:what|which|where|who|whom|whose|when|how|why|is|are|do|does|did|was|were|tell me|name)"
_SPLIT = re.compile(rf"(?:\s*[,;]\s*(?:and\s+)?|\s+and\s+|\?\s+)(?={_WH}\b)", re.I)
# A relation L3 knows, asked through someone: "Zoe's cousin", "my sister", "the company Zoe works for".
_RELATION = re.compile(
    rf"(?:['\u2019]s|\b(?:my|our|their|his|her|your))\s+(?:\w+\s+){{0,2}}(?:{KINSHIP}|{WORKPLACE})\b"
    rf"|\b(?:{WORKPLACE})\s+\w+\s+(?:works?|worked)\b",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]+\b")


def split_question(question: str) -> list[str]:
    """The question's parts ("A, and B?" → ["A", "B?"]); one part when it has none. A part that
    lost the names the question mentions (a pronoun: "and what is her dog called?") gets them back."""
    parts = [p.strip(" ,;") for p in _SPLIT.split(question.strip()) if p and p.strip(" ,;")]
    if len(parts) < 2:
        return [question]
    names = list(dict.fromkeys(_NAME.findall(question)))
    out = []
    for part in parts:
        missing = [n for n in names if n not in part]
        out.append(f"{part} ({' '.join(missing)})" if missing else part)
    return out


def expand(
    conn: psycopg.Connection[Any],
    req: QueryRequest,
    qvec: Any,
    rows: list[dict[str, Any]],
    stats: lexical.Stats,
    embedder: Embedder,
    *,
    ann_index: ann.Graph | None = None,
    entity_names: Sequence[str] = (),
    evidence_counts: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Extra candidate rows for a multi-part or relational question (empty when not needed);
    ``ann_index``: the namespace's own HNSW index (``memos.retrieval.ann``), if it has one;
    ``entity_names``: the query's known entities, whose evidence counts come with the rows (``entity_n``;
    from ``evidence_counts``, the first round's, when given).

    Rows for memories already in ``rows`` come back too when a probe finds them closer (placed
    before ``rows``, the caller's first-seen-wins merge keeps the better similarity)."""
    parts = split_question(req.query)
    scale = scale_of(embedder)
    full = scale.for_query(qvec)
    relational = bool(_RELATION.search(req.query))
    if len(parts) < 2 and not relational:
        return []
    texts: list[str] = []
    names: list[str | None] = []
    caps: list[float] = []  # a bridged row is no closer than the row that named the bridge
    if len(parts) >= 2:
        texts += parts
        names += [None] * len(parts)
        caps += [1.0] * len(parts)
    if relational:
        top = _provisional_top(req.query, rows, stats, full)
        for name, via in _bridges(req.query, [row for _, row in top])[: max(0, MAX_PROBES - len(texts))]:
            texts.append(f"{req.query} {name}")
            names.append(name)
            caps.append(full(float(via["vsim"])))
    texts, names = texts[:MAX_PROBES], names[:MAX_PROBES]
    if not texts:
        return []
    vecs = embedder.embed(texts)
    part_vecs = vecs[: len(parts)] if len(parts) >= 2 else vecs[:0]
    # With parts, every candidate is measured against each part in the same round trip: the first
    # round's rows by primary key, the probes' rows as they are found (``part_psims``).
    found, first_sims = expansion.probes_and_parts(
        conn,
        req,
        qvec,
        list(zip(vecs, names, strict=True)),
        PROBE_LIMIT,
        ann_index=ann_index,
        part_ids=list(dict.fromkeys(row["id"] for row in rows)) if len(part_vecs) else [],
        part_vecs=list(part_vecs),
        entity_names=entity_names,
        evidence_counts=evidence_counts,
    )
    probe_scales = [scale.for_query(vec) for vec in vecs]
    a, b = scale.affine(qvec)
    best: dict[Any, dict[str, Any]] = {}
    bridged: dict[Any, float] = {}  # a bridged row's value on the question's cosine scale
    sims = [{"id": r["id"], "probe": r["probe"], "psim": r["psim"]} for r in first_sims]
    sims += [
        {"id": row["id"], "probe": i, "psim": psim}
        for row in found
        for i, psim in enumerate(row.get("part_psims") or ())
    ]
    for row in found:
        probe, vsim = row["probe"], float(row["vsim"])
        # The probe's calibrated value, put back on the question's cosine scale (both affine).
        value = min(probe_scales[probe](float(row["psim"])), caps[probe])
        if names[probe] is not None:
            bridged[row["id"]] = max(bridged.get(row["id"], -1.0), (value - b) / (a or 1.0))
        vsim = max(vsim, (value - b) / (a or 1.0))
        prev = best.get(row["id"])
        if prev is None or vsim > prev["vsim"]:
            best[row["id"]] = {k: v for k, v in row.items() if k not in ("probe", "psim", "part_psims")} | {
                "vsim": vsim
            }
    if len(parts) >= 2:
        _by_best_part(rows, best, bridged, sims, probe_scales, (a, b))
    return sorted(best.values(), key=lambda r: -r["vsim"])


def _by_best_part(
    rows: list[dict[str, Any]],
    best: dict[Any, dict[str, Any]],
    bridged: dict[Any, float],
    sims: list[dict[str, Any]],
    part_scales: list[Callable[[float], float]],
    question_affine: tuple[float, float],
) -> None:
    """A question with parts: every candidate's similarity becomes that of the part it is closest
    to (put on the question's scale), in place of its similarity to the whole question, whose vector
    sits between the parts and so near small talk that answers none of them. A bridged row keeps its
    bridge's value when that is higher. Adds the first round's rows to ``best``. ``sims``: each
    candidate's cosine to each part (id, probe = the part's index, psim)."""
    a, b = question_affine
    for row in rows:
        best.setdefault(row["id"], dict(row))
    part_value: dict[Any, float] = {}
    for sim in sims:
        value = part_scales[sim["probe"]](float(sim["psim"]))
        part_value[sim["id"]] = max(part_value.get(sim["id"], 0.0), value)
    for mid, row in best.items():
        if mid in part_value:
            row["vsim"] = max((part_value[mid] - b) / (a or 1.0), bridged.get(mid, -1.0))


def _provisional_top(
    query: str, rows: list[dict[str, Any]], stats: lexical.Stats, vscale: Callable[[float], float]
) -> list[tuple[float, dict[str, Any]]]:
    """The first round's best TOP_ROWS by a plain fusion (mean of vector and lexical coverage)."""
    coverage = lexical.Coverage(content_terms(query), stats)  # the query's idf weights, once
    first: dict[Any, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["id"], row)
    distinct = list(first.values())
    docs = lexical.terms_of_rows(distinct)
    seen = {
        row["id"]: ((vscale(float(row["vsim"])) + coverage(doc)) / 2, row)
        for row, doc in zip(distinct, docs, strict=True)
    }
    return sorted(seen.values(), key=lambda t: -t[0])[:TOP_ROWS]


def _bridges(query: str, top_rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(normalized name, the row naming it) for names the best rows' texts mention (L3's rules) and
    the question does not, nor the user; a place is where a chain ends, not a bridge."""
    asked = set(query_ngrams(query))
    out: dict[str, dict[str, Any]] = {}
    for row in top_rows:
        for m in extract_entities(row["text"]):
            if m.type in BRIDGE_TYPES and m.normalized not in asked and m.normalized != USER:
                out.setdefault(m.normalized, row)
    return list(out.items())[:MAX_BRIDGES]
