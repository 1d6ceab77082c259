"""Extraction: every mention and relation in a text, English and Chinese rules together."""

from __future__ import annotations

import re
from collections.abc import Collection

from memos.governance.entities import chinese, english
from memos.governance.entities.names import USER, Mention, Relation, sentences

_CJK = re.compile(r"[\u4e00-\u9fff]")


def extract(text: str) -> tuple[list[Mention], list[Relation]]:
    """All mentions (including unconfident ones) and relations in a text, in order, deduplicated."""
    mentions: list[Mention] = []
    relations: list[Relation] = []
    for sentence in sentences(text):
        zh_mentions, zh_relations = (
            chinese.mentions_and_relations(sentence) if _CJK.search(sentence) else ([], [])
        )
        en_relations = english.relations(sentence)
        mentions += zh_mentions + english.mentions(sentence)
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
