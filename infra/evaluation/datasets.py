"""Evaluation datasets: the native JSON format and the LoCoMo release format, read into one model.

Native format (see docs/EVALUATION.md)::

    {"name": "...",
     "conversations": [{
        "id": "c01", "namespace": "optional", "today": "optional ISO 8601",
        "sessions": [{"session_id": "s1", "turns": [
            {"id": "c01-s1-t1", "speaker": "Ana", "role": "user", "text": "...",
             "occurred_at": "2023-05-08T13:56:00+00:00"}]}],
        "questions": [{"id": "q1", "question": "...", "answer": "...", "evidence": ["c01-s1-t1"],
                       "category": "single-hop"}]}]}

LoCoMo: a JSON list of samples with ``sample_id``, ``conversation`` (``speaker_a``, ``speaker_b``,
``session_N`` turn lists with ``speaker``/``dia_id``/``text``, ``session_N_date_time`` strings such as
"1:56 pm on 8 May, 2023") and ``qa`` (``question``, ``answer``, ``evidence`` dia_ids, ``category`` int).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# LoCoMo's integer categories, as used by the release's evaluation code and follow-up work.
LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
LOCOMO_TURN_OFFSET = timedelta(seconds=30)  # turns within a LoCoMo session: session time + i * offset
ROLES = ("user", "assistant", "agent", "system", "tool")


@dataclass
class Turn:
    id: str
    speaker: str
    role: str
    text: str
    occurred_at: datetime


@dataclass
class Session:
    session_id: str
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Question:
    id: str
    question: str
    answer: str
    evidence: list[str]
    category: str


@dataclass
class Conversation:
    id: str
    sessions: list[Session]
    questions: list[Question]
    namespace: str | None = None
    today: datetime | None = None

    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]

    def turn_ids(self) -> set[str]:
        return {t.id for s in self.sessions for t in s.turns}


@dataclass
class Dataset:
    name: str
    conversations: list[Conversation]
    source_format: str = "native"
    dropped_evidence: int = 0  # evidence ids that named no turn (LoCoMo has a few typos)

    @property
    def n_turns(self) -> int:
        return sum(len(c.turns()) for c in self.conversations)

    @property
    def n_questions(self) -> int:
        return sum(len(c.questions) for c in self.conversations)


# --- dates -----------------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_LOCOMO_DT = re.compile(
    r"(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?\s*(?:on\s+)?)?"
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})")


def parse_iso(value: str) -> datetime:
    """ISO 8601 with a timezone ("Z" allowed); naive timestamps are rejected."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without timezone: {value!r}")
    return dt


def _month(name: str) -> int | None:
    return _MONTHS.get(name[:3].lower())


def parse_locomo_datetime(value: str) -> datetime | None:
    """Parse "1:56 pm on 8 May, 2023" and close variants into an aware UTC datetime; None if hopeless."""
    text = " ".join(value.strip().split())
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        pass
    m = _LOCOMO_DT.search(text)
    if m and _month(m["mon"]):
        hour, minute = int(m["h"] or 0), int(m["m"] or 0)
        ampm = (m["ampm"] or "").replace(".", "").lower()
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        try:
            month = _month(m["mon"]) or 1
            return datetime(int(m["y"]), month, int(m["d"]), hour % 24, minute % 60, tzinfo=UTC)
        except ValueError:
            return None
    m2 = _MONTH_FIRST.search(text)
    if m2 and _month(m2["mon"]):
        try:
            return datetime(int(m2["y"]), _month(m2["mon"]) or 1, int(m2["d"]), tzinfo=UTC)
        except ValueError:
            return None
    return None


# --- native ----------------------------------------------------------------------------------------


def parse_native(obj: dict[str, Any]) -> Dataset:
    convs: list[Conversation] = []
    dropped = 0
    for ci, c in enumerate(obj.get("conversations") or []):
        sessions = []
        for si, s in enumerate(c.get("sessions") or []):
            turns = []
            for ti, t in enumerate(s.get("turns") or []):
                role = t.get("role") or "user"
                turns.append(
                    Turn(
                        id=str(t.get("id") or f"s{si + 1}-t{ti + 1}"),
                        speaker=str(t.get("speaker") or ""),
                        role=role if role in ROLES else "user",
                        text=str(t["text"]),
                        occurred_at=parse_iso(str(t["occurred_at"])),
                    )
                )
            sessions.append(Session(str(s.get("session_id") or f"session_{si + 1}"), turns))
        conv = Conversation(
            id=str(c.get("id") or f"conv{ci + 1}"),
            sessions=sessions,
            questions=[],
            namespace=c.get("namespace"),
            today=parse_iso(c["today"]) if c.get("today") else None,
        )
        known = conv.turn_ids()
        for qi, q in enumerate(c.get("questions") or []):
            evidence = [str(e) for e in q.get("evidence") or []]
            kept = [e for e in evidence if e in known]
            dropped += len(evidence) - len(kept)
            conv.questions.append(
                Question(
                    id=str(q.get("id") or f"{conv.id}-q{qi + 1}"),
                    question=str(q["question"]),
                    answer=str(q.get("answer", "")),
                    evidence=kept,
                    category=str(q.get("category") or "unknown"),
                )
            )
        convs.append(conv)
    return Dataset(str(obj.get("name") or "dataset"), convs, "native", dropped)


def to_native(ds: Dataset) -> dict[str, Any]:
    convs = []
    for c in ds.conversations:
        out: dict[str, Any] = {"id": c.id}
        if c.namespace:
            out["namespace"] = c.namespace
        if c.today:
            out["today"] = c.today.isoformat()
        out["sessions"] = [
            {
                "session_id": s.session_id,
                "turns": [
                    {
                        "id": t.id,
                        "speaker": t.speaker,
                        "role": t.role,
                        "text": t.text,
                        "occurred_at": t.occurred_at.isoformat(),
                    }
                    for t in s.turns
                ],
            }
            for s in c.sessions
        ]
        out["questions"] = [
            {
                "id": q.id,
                "question": q.question,
                "answer": q.answer,
                "evidence": q.evidence,
                "category": q.category,
            }
            for q in c.questions
        ]
        convs.append(out)
    return {"name": ds.name, "conversations": convs}


# --- LoCoMo ----------------------------------------------------------------------------------------

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"D\d+:\d+")


def _locomo_evidence(raw: Any) -> list[str]:
    """Evidence is a list of dia_ids; a few entries hold several ("D1:3; D2:4") or stray spaces."""
    items = raw if isinstance(raw, list) else [raw] if raw else []
    out: list[str] = []
    for item in items:
        found = _DIA_ID.findall(str(item).replace(" ", ""))
        out.extend(found or [str(item).strip()])
    return list(dict.fromkeys(out))


def parse_locomo(samples: list[dict[str, Any]], name: str = "locomo") -> Dataset:
    convs: list[Conversation] = []
    dropped = 0
    fallback = datetime(2023, 1, 1, tzinfo=UTC)
    for ci, sample in enumerate(samples):
        sid = str(sample.get("sample_id") or f"sample{ci + 1}")
        conv_obj = sample.get("conversation") or {}
        numbers = sorted(int(m.group(1)) for k in conv_obj if (m := _SESSION_KEY.match(k)))
        sessions: list[Session] = []
        previous: datetime | None = None
        for n in numbers:
            raw_turns = conv_obj.get(f"session_{n}") or []
            if not raw_turns:
                continue
            start = parse_locomo_datetime(str(conv_obj.get(f"session_{n}_date_time") or ""))
            if start is None:  # unparseable: a day after the previous session keeps order
                start = (previous + timedelta(days=1)) if previous else fallback
            previous = start
            turns = []
            for ti, t in enumerate(raw_turns):
                text = str(t.get("text") or "").strip()
                caption = t.get("blip_caption")
                if caption:
                    text = f"{text} [shares an image: {caption}]".strip()
                if not text:
                    continue
                turns.append(
                    Turn(
                        id=str(t.get("dia_id") or f"D{n}:{ti + 1}"),
                        speaker=str(t.get("speaker") or ""),
                        # Both LoCoMo speakers are people: one role keeps role-based importance neutral.
                        role="user",
                        text=text,
                        occurred_at=start + ti * LOCOMO_TURN_OFFSET,
                    )
                )
            sessions.append(Session(f"session_{n}", turns))
        conv = Conversation(id=sid, sessions=sessions, questions=[], namespace=f"locomo-{sid}")
        known = conv.turn_ids()
        for qi, qa in enumerate(sample.get("qa") or []):
            evidence = _locomo_evidence(qa.get("evidence"))
            kept = [e for e in evidence if e in known]
            dropped += len(evidence) - len(kept)
            cat = qa.get("category")
            category = LOCOMO_CATEGORIES.get(cat, str(cat)) if isinstance(cat, int) else str(cat or "unknown")
            answer = qa.get("answer", qa.get("adversarial_answer", ""))
            conv.questions.append(
                Question(
                    id=f"{sid}-q{qi + 1}",
                    question=str(qa.get("question") or ""),
                    answer=str(answer),
                    evidence=kept,
                    category=category,
                )
            )
        convs.append(conv)
    return Dataset(name, convs, "locomo", dropped)


# --- detection -------------------------------------------------------------------------------------


def detect_format(obj: Any) -> str:
    if isinstance(obj, dict) and "conversations" in obj:
        return "native"
    if isinstance(obj, dict) and "conversation" in obj and "qa" in obj:
        return "locomo"
    if (
        isinstance(obj, list)
        and obj
        and all(isinstance(x, dict) for x in obj)
        and "conversation" in obj[0]
        and "qa" in obj[0]
    ):
        return "locomo"
    raise ValueError(
        "unknown dataset format: expected {'conversations': [...]} (native) or a LoCoMo"
        " list of samples with 'conversation' and 'qa'"
    )


def parse_dataset(obj: Any, name: str = "dataset") -> Dataset:
    fmt = detect_format(obj)
    if fmt == "native":
        return parse_native(obj)
    return parse_locomo(obj if isinstance(obj, list) else [obj], name=name)


def load_dataset(path: str | Path) -> Dataset:
    p = Path(path)
    return parse_dataset(json.loads(p.read_text(encoding="utf-8")), name=p.stem)


def save_dataset(ds: Dataset, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_native(ds), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
