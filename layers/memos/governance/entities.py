"""L3: entities and relations, found by rules (no model), kept per namespace with evidence memory ids.

Extraction is deliberately modest and explainable:
- English: capitalized word runs ("Fushimi Inari", "Dr. Ana Silva") not at a sentence's start
  (a sentence-initial word counts when a relation cue follows it or the namespace already knows
  it), emails and @handles; types from cues ("my sister X" → person, "works at X" → org,
  "in/at/to X" → place, name suffixes such as "University" or "Station").
- Chinese: names after kinship cues (我的朋友X, 我妹妹X), organisations in 在X工作, places after
  住在, quoted names (「X」, “X”, 《X》).
- Relations: "my sister X" / "X is my sister" → (user, sister, X); "X is Y's sister" →
  (Y, sister, X); "X works at Y" → (X, works_at, Y); "X lives in Y" → (X, lives_in, Y).

Names are normalized (NFKC, case, possessive 's, titles such as Dr./Mr.); a first name and a
full name merge within a namespace when the match is unambiguous (the shorter form becomes an
alias). ``mention_count`` counts distinct evidence memories, so recording the same memory twice
(ingest, then condensation) changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from memos.kernel.text import STOPWORDS, normalize

MAX_EVIDENCE = 1000  # newest evidence ids kept per entity or relation; mention_count keeps counting
USER = "user"  # the speaker of first-person turns ("my sister Ana" → (user, sister, Ana))

_TITLE = r"(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sir|Dame)\.?"
_CAP = r"[A-Z][A-Za-z'\u2019\-]*"
_NAME = rf"(?:{_TITLE}\s+)?{_CAP}(?:\s+{_CAP})*"
_NAME_RE = re.compile(rf"(?<![\w@.]){_NAME}")
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_HANDLE_RE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_]{2,30}\b")
_SENTENCE_RE = re.compile(
    r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!Mrs\.)(?<!Prof\.)(?<=[.!?])\s+|(?<=[。\uff01\uff1f\uff1b])|\n+"
)

KINSHIP = (
    "sister|brother|mother|mom|mum|father|dad|wife|husband|partner|friend|boss|colleague|coworker|"
    "son|daughter|cousin|aunt|uncle|manager|girlfriend|boyfriend|roommate|neighbor|neighbour|"
    "grandmother|grandfather|grandma|grandpa|niece|nephew|teacher|doctor"
)
_PREDICATE = {"mom": "mother", "mum": "mother", "dad": "father", "neighbour": "neighbor"}

# Capitalized words that are not names on their own.
_NOT_NAMES = frozenset(
    [
        "i",
        "i'm",
        "i'll",
        "i've",
        "i'd",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "yes",
        "no",
        "yeah",
        "sure",
        "please",
        "sorry",
        "dear",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sir",
        "dame",
        "note",
        "todo",
        "update",
        "re",
        "fyi",
        "btw",
        "lol",
        "also",
        "however",
        "then",
        "so",
        "but",
        "and",
    ]
)
_NOT_NAMES_OR_STOPWORDS = _NOT_NAMES | STOPWORDS
_POSSESSIVE = re.compile(r"['\u2019]s$")
_TITLE_WORD = re.compile(_TITLE)
_TITLE_PREFIX = re.compile(rf"^{_TITLE}\s+", re.I)
_LETTER = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PERSON_TAIL = re.compile(
    rf"^\s*(?:said|says|told|asked|thinks|wants|is my|was my|['\u2019]s (?:{KINSHIP})\b)"
)
_REL_TAIL = re.compile(
    r"^\s*(?:lives|lived|works|worked|is|was|said|says|told|asked|moved|has|will|and|visited|likes|loves)\b"
)
_ORG_CUE = re.compile(
    r"(?:works?|worked|working|job|intern(?:ing)?|employed|hired)\s+(?:at|for|by)\s+$|joined\s+$", re.I
)
_PLACE_CUE = re.compile(
    r"\b(?:in|to|from|near|at|into|around|visit|visited|visiting|moved to|lives in|live in|flew to)\s+(?:the\s+)?$",
    re.I,
)
_PERSON_CUE = re.compile(rf"(?:\b(?:my|his|her|our|their)\s+(?:{KINSHIP})\s*,?\s+|{_TITLE}\s+)$", re.I)
_ORG_SUFFIX = re.compile(
    r"\b(?:Inc|Corp|Corporation|Ltd|LLC|GmbH|Company|Co|University|College|Bank|Labs|Group|Institute|Foundation|Hospital|School)\.?$"
)
_PLACE_SUFFIX = re.compile(
    r"\b(?:Street|St|Avenue|Road|Park|City|Lake|Mountain|Mount|River|Shrine|Temple|Station|Airport|Beach|Island|Valley|Bridge|Square|Museum|Castle|Inari)$"
)

# Chinese cues.
_ZH_KIN = {
    "朋友": "friend",
    "妹妹": "sister",
    "姐姐": "sister",
    "哥哥": "brother",
    "弟弟": "brother",
    "妈妈": "mother",
    "母亲": "mother",
    "爸爸": "father",
    "父亲": "father",
    "同事": "colleague",
    "老板": "boss",
    "老师": "teacher",
    "丈夫": "husband",
    "老公": "husband",
    "妻子": "wife",
    "老婆": "wife",
    "男朋友": "boyfriend",
    "女朋友": "girlfriend",
    "儿子": "son",
    "女儿": "daughter",
    "室友": "roommate",
    "经理": "manager",
}
_ZH_KIN_RE = re.compile(
    r"我(?:的)?(" + "|".join(sorted(_ZH_KIN, key=len, reverse=True)) + r")(?:叫)?([\u4e00-\u9fff]{2,4})"
)
_ZH_STOP = set("住在是说喜的和去要也很工今明昨会想了都就还把给跟对从不没叫有")
_ZH_WORK_RE = re.compile(r"(我|[\u4e00-\u9fff]{2,4})?在([\u4e00-\u9fffA-Za-z0-9]{2,12}?)(?:工作|上班|任职)")
_ZH_LIVE_RE = re.compile(r"(我)?住在([\u4e00-\u9fffA-Za-z]{2,8})")
_ZH_PLACE_END = re.compile(r"(?:附近|旁边|这边|那边|市中心|的).*$")
_ZH_QUOTED_RE = re.compile(r"[「“\"]([^」”\"\n]{1,30})[」”\"]|《([^》\n]{1,30})》")

_EN_REL_KIN_MY = re.compile(rf"\b[Mm]y\s+({KINSHIP})\s*,?\s+({_NAME})")
_EN_REL_IS_MY = re.compile(rf"({_NAME})\s+is\s+my\s+({KINSHIP})\b")
_EN_REL_IS_POSS = re.compile(rf"({_NAME})\s+is\s+({_NAME})['\u2019]s\s+({KINSHIP})\b")
_EN_REL_WORKS = re.compile(
    rf"(\bI|{_NAME})\s+(?:works?|worked|is working|am working)\s+(?:at|for)\s+({_NAME})"
)
_EN_REL_LIVES = re.compile(
    rf"(\bI|\bwe|{_NAME})\s+(?:lives?|lived|is living|am living|moved|relocated)\s+(?:in|to)\s+({_NAME})"
)


@dataclass(frozen=True)
class Mention:
    name: str  # display form, without title or possessive
    normalized: str
    type: str = "thing"  # person | place | org | thing | contact
    confident: bool = True  # False: a sentence-initial word; kept only if the namespace knows it


@dataclass(frozen=True)
class Relation:
    subject: Mention
    predicate: str
    object: Mention


USER_MENTION = Mention(USER, USER, "person")


def normalize_name(name: str) -> str:
    """Case, whitespace, possessive 's and titles do not make a new entity."""
    s = unicodedata.normalize("NFKC", name).strip().strip(".,;:!?\"'“”「」《》()")
    s = _POSSESSIVE.sub("", s)
    s = _TITLE_PREFIX.sub("", s)
    return " ".join(s.lower().split())


def _display(name: str) -> str:
    s = unicodedata.normalize("NFKC", name).strip().strip(".,;:!?\"'“”「」《》()")
    s = _POSSESSIVE.sub("", s)
    return _TITLE_PREFIX.sub("", s).strip()


def _clean_run(run: str) -> tuple[str, int]:
    """Drop leading words that are not names ("The", "Yesterday"); returns (name, words dropped)."""
    words = run.split()
    dropped = 0
    while words and (words[0].lower().rstrip(".") in STOPWORDS or words[0].lower() in _NOT_NAMES):
        if _TITLE_WORD.fullmatch(words[0]) and len(words) > 1:
            break
        words.pop(0)
        dropped += 1
    while words and words[-1].lower() in _NOT_NAMES_OR_STOPWORDS:
        words.pop()
    return " ".join(words), dropped


def _type_for(name: str, before: str, after: str) -> str:
    if _PERSON_CUE.search(before) or _PERSON_TAIL.match(after) or _TITLE_PREFIX.match(name):
        return "person"
    if _ORG_SUFFIX.search(name) or _ORG_CUE.search(before):
        return "org"
    if _PLACE_SUFFIX.search(name) or _PLACE_CUE.search(before):
        return "place"
    return "thing"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]


def _english_mentions(sentence: str) -> list[Mention]:
    out: list[Mention] = []
    masked = _EMAIL_RE.sub(lambda m: " " * len(m.group()), sentence)
    for m in _EMAIL_RE.finditer(sentence):
        out.append(Mention(m.group(), m.group().lower(), "contact"))
    for m in _HANDLE_RE.finditer(masked):
        out.append(Mention(m.group(), m.group().lower(), "contact"))
    first_word = _LETTER.search(masked)
    sentence_start = first_word.start() if first_word else -1
    for m in _NAME_RE.finditer(masked):
        name, dropped = _clean_run(m.group())
        if not name or name.lower() in _NOT_NAMES:
            continue
        display = _display(name)
        norm = normalize_name(name)
        if not norm or norm in STOPWORDS:
            continue
        at_start = m.start() == sentence_start and dropped == 0
        before, after = masked[max(0, m.start() - 40) : m.start()], masked[m.end() : m.end() + 40]
        confident = (
            not at_start or " " in display or bool(_REL_TAIL.match(after) or _PERSON_TAIL.match(after))
        )
        out.append(Mention(display, norm, _type_for(name, before, after), confident))
    return out


def _zh_name(raw: str) -> str:
    """A 2-4 character name: cut at the first character that starts the rest of the sentence."""
    for i, ch in enumerate(raw):
        if i >= 2 and ch in _ZH_STOP:
            return raw[:i]
    return raw


def _chinese(sentence: str) -> tuple[list[Mention], list[Relation]]:
    mentions: list[Mention] = []
    relations: list[Relation] = []
    people: list[tuple[int, Mention]] = []
    for m in _ZH_KIN_RE.finditer(sentence):
        name = _zh_name(m.group(2))
        person = Mention(name, normalize_name(name), "person")
        mentions.append(person)
        people.append((m.start(2) + len(name), person))
        relations.append(Relation(USER_MENTION, _ZH_KIN[m.group(1)], person))

    def subject(match: re.Match[str], pos: int) -> Mention | None:
        if match.group(1) == "我":
            return USER_MENTION
        earlier = [p for end, p in people if end <= pos]
        if earlier:
            return earlier[-1]
        return USER_MENTION if "我" in sentence[:pos] else None  # a subject elided after 我

    for m in _ZH_WORK_RE.finditer(sentence):
        org = Mention(m.group(2), normalize_name(m.group(2)), "org")
        mentions.append(org)
        subj = subject(m, m.start(2))
        if subj is not None:
            relations.append(Relation(subj, "works_at", org))
    for m in _ZH_LIVE_RE.finditer(sentence):
        place_name = _ZH_PLACE_END.sub("", m.group(2)) or m.group(2)
        if len(place_name) < 2:
            continue
        place = Mention(place_name, normalize_name(place_name), "place")
        mentions.append(place)
        subj = subject(m, m.start())
        if subj is not None:
            relations.append(Relation(subj, "lives_in", place))
    for m in _ZH_QUOTED_RE.finditer(sentence):
        name = (m.group(1) or m.group(2) or "").strip()
        if name and normalize_name(name):
            mentions.append(Mention(name, normalize_name(name), "thing"))
    return mentions, relations


def _party(raw: str, kind: str = "person") -> Mention | None:
    if raw.strip().lower() in ("i", "we"):
        return USER_MENTION
    name, _ = _clean_run(raw)
    norm = normalize_name(name)
    if not norm or norm in _NOT_NAMES or norm in STOPWORDS:
        return None
    return Mention(_display(name), norm, kind)


def _english_relations(sentence: str) -> list[Relation]:
    out: list[Relation] = []

    def add(subj: Mention | None, predicate: str, obj: Mention | None) -> None:
        if subj is not None and obj is not None and subj.normalized != obj.normalized:
            out.append(Relation(subj, _PREDICATE.get(predicate, predicate), obj))

    lowered = sentence.lower()  # cheap keyword checks first: most sentences hold no relation
    if "my " in lowered:
        for m in _EN_REL_KIN_MY.finditer(sentence):
            add(USER_MENTION, m.group(1).lower(), _party(m.group(2)))
        for m in _EN_REL_IS_MY.finditer(sentence):
            add(USER_MENTION, m.group(2).lower(), _party(m.group(1)))
    if "s " in lowered and " is " in lowered:
        for m in _EN_REL_IS_POSS.finditer(sentence):
            add(_party(m.group(2)), m.group(3).lower(), _party(m.group(1)))
    if "work" in lowered:
        for m in _EN_REL_WORKS.finditer(sentence):
            add(_party(m.group(1)), "works_at", _party(m.group(2), "org"))
    if "liv" in lowered or "moved" in lowered or "relocated" in lowered:
        for m in _EN_REL_LIVES.finditer(sentence):
            add(_party(m.group(1)), "lives_in", _party(m.group(2), "place"))
    return out


def extract(text: str) -> tuple[list[Mention], list[Relation]]:
    """All mentions (including unconfident ones) and relations in a text, in order, deduplicated."""
    mentions: list[Mention] = []
    relations: list[Relation] = []
    for sentence in sentences(text):
        zh_mentions, zh_relations = _chinese(sentence) if _CJK.search(sentence) else ([], [])
        en_relations = _english_relations(sentence)
        mentions += zh_mentions + _english_mentions(sentence)
        relations += zh_relations + en_relations
        # A relation's parties are names for sure, with the relation's type.
        for r in zh_relations + en_relations:
            mentions += [p for p in (r.subject, r.object) if p.normalized != USER]
    best: dict[str, Mention] = {}
    for m in mentions:
        prev = best.get(m.normalized)
        if prev is None:
            best[m.normalized] = m
        else:
            best[m.normalized] = Mention(
                prev.name,
                prev.normalized,
                prev.type if prev.type != "thing" else m.type,
                prev.confident or m.confident,
            )
    unique_rel = list(dict.fromkeys((r.subject, r.predicate, r.object) for r in relations))
    return list(best.values()), [Relation(s, p, o) for s, p, o in unique_rel]


def extract_entities(text: str, known: Collection[str] = ()) -> list[Mention]:
    """Entity mentions in a text; a sentence-initial capitalized word counts only if ``known``."""
    mentions, _ = extract(text)
    return [m for m in mentions if m.confident or m.normalized in known]


def extract_relations(text: str) -> list[Relation]:
    return extract(text)[1]


# ---------------------------------------------------------------------------------------------
# Storage (runs inside the caller's transaction)


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


_MERGE_EVIDENCE = (
    "(SELECT CASE WHEN cardinality(c) > {cap} THEN c[cardinality(c) - {cap} + 1:] ELSE c END FROM"
    " (SELECT {t}.evidence || ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL({t}.evidence))"
    " AS c) s)"
)
_UPSERT_ENTITY = (
    "INSERT INTO entities AS e (id, namespace, name, normalized, type, aliases, evidence, mention_count)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (namespace, normalized) DO UPDATE SET"
    "  mention_count = e.mention_count"
    "    + cardinality(ARRAY(SELECT x FROM unnest(EXCLUDED.evidence) x WHERE x <> ALL(e.evidence))),"
    f"  evidence = {_MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t='e')},"
    "  aliases = ARRAY(SELECT DISTINCT a FROM unnest(e.aliases || EXCLUDED.aliases) a WHERE a <> e.normalized),"
    "  type = CASE WHEN e.type = 'thing' THEN EXCLUDED.type ELSE e.type END,"
    "  last_seen = now()"
    " RETURNING id, normalized"
)
_UPSERT_RELATION = (
    "INSERT INTO relations AS r (id, namespace, subject_id, predicate, object_id, evidence)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (namespace, subject_id, predicate, object_id) DO UPDATE SET"
    f"  evidence = {_MERGE_EVIDENCE.format(cap=MAX_EVIDENCE, t='r')}"
)


def _known(conn: psycopg.Connection[Any], namespace: str, names: Iterable[str]) -> dict[str, str]:
    """Existing entities by name or alias: name → the entity's normalized name."""
    names = list(set(names))
    if not names:
        return {}
    rows = conn.execute(
        "SELECT normalized, aliases FROM entities WHERE namespace = %s"
        " AND (normalized = ANY(%s) OR aliases && %s::text[])",
        (namespace, names, names),
    ).fetchall()
    wanted = set(names)
    found: dict[str, str] = {}
    for r in rows:
        for n in [r["normalized"], *r["aliases"]]:
            if n in wanted:
                found.setdefault(n, r["normalized"])
    return found


def _resolve(conn: psycopg.Connection[Any], namespace: str, pending: dict[str, _Pending]) -> dict[str, str]:
    """Map each pending name to the normalized name it is stored under (aliases, first ↔ full name)."""
    canonical = _known(conn, namespace, pending)
    persons = [n for n, p in pending.items() if p.type == "person" and n != USER]
    for n, p in pending.items():
        if n in canonical or n == USER or " " in n or p.type not in ("person", "thing"):
            continue
        # A first name: the one full name in this batch, else in the namespace, that starts with it.
        in_batch = [full for full in persons if full.startswith(n + " ")]
        if len(in_batch) == 1:
            canonical[n] = canonical.get(in_batch[0], in_batch[0])
            continue
        if in_batch:
            continue
        rows = conn.execute(
            "SELECT normalized FROM entities WHERE namespace = %s AND type = 'person' AND normalized LIKE %s"
            " LIMIT 2",
            (namespace, _like_prefix(n)),
        ).fetchall()
        if len(rows) == 1:
            canonical[n] = rows[0]["normalized"]
    for n in persons:
        if n in canonical or " " not in n:
            continue
        # A full name: an entity stored under its first name alone becomes this full name, unless
        # another full name shares that first name (ambiguous).
        first = n.split(" ", 1)[0]
        if any(o != n and o.startswith(first + " ") for o in persons):
            continue
        rows = conn.execute(
            "SELECT id, normalized FROM entities WHERE namespace = %s AND (normalized = %s"
            " OR (normalized LIKE %s AND type = 'person')) LIMIT 3",
            (namespace, first, _like_prefix(first)),
        ).fetchall()
        if len(rows) == 1 and rows[0]["normalized"] == first:
            conn.execute(
                "UPDATE entities SET normalized = %s, name = %s, type = 'person',"
                " aliases = array_append(array_remove(aliases, %s), %s), last_seen = now() WHERE id = %s",
                (n, pending[n].name, first, first, rows[0]["id"]),
            )
            canonical[first] = n
        canonical[n] = n
    return {n: canonical.get(n, n) for n in pending}


def _known_or_first_name(
    conn: psycopg.Connection[Any], namespace: str, unsure: set[str], batch: set[str]
) -> set[str]:
    """Sentence-initial names that are known: stored, or the first name of exactly one full name."""
    if not unsure:
        return set()
    known = set(_known(conn, namespace, unsure))
    for n in unsure - known:
        if " " in n:
            continue
        in_batch = [b for b in batch if b.startswith(n + " ")]
        rows = conn.execute(
            "SELECT normalized FROM entities WHERE namespace = %s AND type = 'person' AND normalized LIKE %s"
            " LIMIT 2",
            (namespace, _like_prefix(n)),
        ).fetchall()
        if len(set(in_batch) | {r["normalized"] for r in rows}) == 1:
            known.add(n)
    return known


def _like_prefix(name: str) -> str:
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"


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

    ids: dict[str, UUID] = {}
    with conn.cursor() as cur:
        # One order everywhere (sorted names), so concurrent writers never deadlock; executemany
        # pipelines the statements in one round trip.
        cur.executemany(
            _UPSERT_ENTITY,
            [
                (uuid.uuid4(), namespace, p.name, n, p.type, sorted(p.aliases), p.evidence, len(p.evidence))
                for n, p in sorted(merged.items())
            ],
            returning=True,
        )
        while True:
            row = cur.fetchone()
            if row is not None:
                ids[row["normalized"]] = row["id"]
            if not cur.nextset():
                break
        rel_rows = []
        for (s, pred, o), ev in sorted(rels.items()):
            sid, oid = ids.get(canonical.get(s, s)), ids.get(canonical.get(o, o))
            if sid is not None and oid is not None and sid != oid:
                rel_rows.append((uuid.uuid4(), namespace, sid, pred, oid, list(ev)))
        if rel_rows:
            cur.executemany(_UPSERT_RELATION, rel_rows)


def list_entities(
    conn: psycopg.Connection[Any], namespace: str, q: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Entities (most mentioned first) with their relations; evidence lists only live memories.

    An entity whose every evidence memory was deleted or expired is not listed: forgetting a
    memory forgets what only it said.
    """
    params: dict[str, Any] = {"ns": namespace, "limit": limit}
    where = ""
    if q:
        params["q"] = "%" + normalize(q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = (
            " AND (e.normalized LIKE %(q)s OR lower(e.name) LIKE %(q)s"
            " OR EXISTS (SELECT 1 FROM unnest(e.aliases) a WHERE a LIKE %(q)s))"
        )
    rows = conn.execute(
        "SELECT * FROM (SELECT e.id, e.name, e.normalized, e.type, e.aliases, e.mention_count, e.first_seen,"
        "   e.last_seen, ARRAY(SELECT m.id FROM memories m WHERE m.id = ANY(e.evidence)"
        "     AND m.namespace = e.namespace AND m.status = 'active') AS evidence"
        " FROM entities e WHERE e.namespace = %(ns)s" + where + ") x"
        " WHERE cardinality(x.evidence) > 0 ORDER BY x.mention_count DESC, x.last_seen DESC, x.normalized"
        " LIMIT %(limit)s",
        params,
    ).fetchall()
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    rel_rows = conn.execute(
        "SELECT r.subject_id, s.name AS subject, r.predicate, r.object_id, o.name AS object,"
        "  ARRAY(SELECT m.id FROM memories m WHERE m.id = ANY(r.evidence) AND m.status = 'active') AS evidence"
        " FROM relations r JOIN entities s ON s.id = r.subject_id JOIN entities o ON o.id = r.object_id"
        " WHERE r.namespace = %s AND (r.subject_id = ANY(%s) OR r.object_id = ANY(%s))"
        " ORDER BY r.created_at",
        (namespace, ids, ids),
    ).fetchall()
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


_QUERY_WORD = re.compile(r"[\w@.+'\u2019-]+|[\u4e00-\u9fff]+")


def _query_ngrams(text: str, max_words: int = 4, max_grams: int = 400) -> list[str]:
    grams: list[str] = []
    tokens = [normalize_name(t) for t in _QUERY_WORD.findall(unicodedata.normalize("NFKC", text))]
    tokens = [t for t in tokens if t]
    for i in range(len(tokens)):
        tok = tokens[i]
        if re.fullmatch(r"[\u4e00-\u9fff]+", tok):  # CJK runs: every 2-6 character substring
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
    grams = [g for g in _query_ngrams(text) if g != USER]
    return set(_known(conn, namespace, grams).values()) if grams else set()


def memory_entity_overlap(
    conn: psycopg.Connection[Any],
    namespace: str,
    query_entities: Collection[str],
    memory_ids: Collection[UUID],
) -> dict[UUID, float]:
    """For each memory: the share of the query's entities it is evidence for (0.0 when none)."""
    out = dict.fromkeys(memory_ids, 0.0)
    if not query_entities or not memory_ids:
        return out
    rows = conn.execute(
        "SELECT m AS memory_id, count(*) AS n FROM entities e, unnest(e.evidence) m"
        " WHERE e.namespace = %s AND e.normalized = ANY(%s) AND m = ANY(%s) GROUP BY m",
        (namespace, list(query_entities), list(memory_ids)),
    ).fetchall()
    total = len(set(query_entities))
    for r in rows:
        out[r["memory_id"]] = round(min(1.0, r["n"] / total), 4)
    return out
