"""Chinese rules: names after kinship cues (我的朋友X, 我妹妹X), organisations in 在X工作, places
after 住在, quoted names (「X」, “X”, 《X》); kinship, works_at and lives_in relations."""

from __future__ import annotations

import re

from memos.governance.entities.names import USER_MENTION, Mention, Relation, normalize_name

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


def _zh_name(raw: str) -> str:
    """A 2-4 character name: cut at the first character that starts the rest of the sentence."""
    for i, ch in enumerate(raw):
        if i >= 2 and ch in _ZH_STOP:
            return raw[:i]
    return raw


def mentions_and_relations(sentence: str) -> tuple[list[Mention], list[Relation]]:
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
