"""Time expressions in questions, turned into an event-time range to match against ``occurred_at``.

Absolute: "in May 2023", "on 8 May 2023", "May 8th, 2023", "2023-05-08", "in 2022", "in May"
(the anchor's year). Relative to an anchor: "yesterday", "today", "last week/month/year",
"this week/month/year", "N days/weeks/months ago", "last weekend", "last Friday". The anchor is
a date the question states ("Today is 8 May 2023.") or else the time of asking.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_M = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_D = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(?P<year>(?:19|20)\d{2})"

_ABSOLUTE = [
    re.compile(rf"\b{_Y}-(?P<mnum>\d{{1,2}})-(?P<day>\d{{1,2}})\b"),
    re.compile(rf"\b{_D}\s+(?:of\s+)?{_M},?\s+{_Y}\b", re.I),
    re.compile(rf"\b{_M}\s+{_D},?\s+{_Y}\b", re.I),
    re.compile(rf"\b{_M},?\s+(?:of\s+)?{_Y}\b", re.I),
    re.compile(rf"\b(?:on|since|by)\s+{_D}\s+(?:of\s+)?{_M}\b", re.I),
    re.compile(rf"\b(?:on|since|by)\s+{_M}\s+{_D}\b", re.I),
    re.compile(rf"\b(?:in|during|of|throughout|early|late|mid)\s+{_M}\b", re.I),
    re.compile(rf"\b(?:in|during|of|throughout)\s+{_Y}\b", re.I),
]
_ANCHOR = re.compile(r"\btoday is\s+(?P<date>[^.?!,;]+(?:,\s*\d{4})?)", re.I)
_AGO = re.compile(
    r"\b(?P<n>\d+|a|an|one|two|three|four|five|six)\s+(?P<unit>day|week|month|year)s?\s+ago\b", re.I
)
_LAST = re.compile(
    r"\b(?P<rel>last|this|past|previous)\s+(?P<unit>week|weekend|month|year|" + "|".join(WEEKDAYS) + r")\b",
    re.I,
)
_MAX_AGO_DIGITS = 9  # 999,999,999 days is already past datetime.min
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime  # exclusive
    text: str

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def distance_days(self, when: datetime) -> float:
        if self.contains(when):
            return 0.0
        edge = self.start if when < self.start else self.end
        return abs((when - edge).total_seconds()) / 86_400


def _day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def _month_range(y: int, m: int) -> tuple[datetime, datetime]:
    start = _day(y, m, 1)
    return start, _day(y + 1, 1, 1) if m == 12 else _day(y, m + 1, 1)


def _absolute(text: str, anchor: datetime) -> TimeRange | None:
    for pattern in _ABSOLUTE:
        m = pattern.search(text)
        if not m:
            continue
        g = m.groupdict()
        try:
            year = int(g["year"]) if g.get("year") else anchor.year
            month = (
                int(g["mnum"]) if g.get("mnum") else MONTHS[g["month"].lower()] if g.get("month") else None
            )
            if month is None:
                return TimeRange(_day(year, 1, 1), _day(year + 1, 1, 1), m.group(0))
            if g.get("day"):
                start = _day(year, month, int(g["day"]))
                return TimeRange(start, start + timedelta(days=1), m.group(0))
            start, end = _month_range(year, month)
            return TimeRange(start, end, m.group(0))
        except (ValueError, KeyError):
            continue
    return None


def anchor_of(text: str, now: datetime) -> datetime:
    m = _ANCHOR.search(text)
    if m:
        found = _absolute(m.group("date") + " ", now) or _absolute("on " + m.group("date"), now)
        if found:
            return found.start + timedelta(hours=12)
    return now


def _relative(text: str, anchor: datetime) -> TimeRange | None:
    today = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    low = text.lower()
    if re.search(r"\byesterday\b", low):
        return TimeRange(today - timedelta(days=1), today, "yesterday")
    m = _AGO.search(text)
    if m:
        return _ago(m, today)
    m = _LAST.search(text)
    if m:
        rel, unit = m.group("rel").lower(), m.group("unit").lower()
        back = rel != "this"
        if unit == "week":
            monday = today - timedelta(days=today.weekday())
            start = monday - timedelta(days=7) if back else monday
            return TimeRange(start, start + timedelta(days=7), m.group(0))
        if unit == "weekend":
            saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
            return TimeRange(saturday, saturday + timedelta(days=2), m.group(0))
        if unit == "month":
            y, mo = (today.year, today.month - 1) if back else (today.year, today.month)
            if mo == 0:
                y, mo = y - 1, 12
            return TimeRange(*_month_range(y, mo), m.group(0))
        if unit == "year":
            y = today.year - 1 if back else today.year
            return TimeRange(_day(y, 1, 1), _day(y + 1, 1, 1), m.group(0))
        delta = (today.weekday() - WEEKDAYS[unit]) % 7 or 7
        start = today - timedelta(days=delta)
        return TimeRange(start, start + timedelta(days=1), m.group(0))
    if re.search(r"\btoday\b", low) and not _ANCHOR.search(text):
        return TimeRange(today, today + timedelta(days=1), "today")
    return None


def _ago(m: re.Match[str], today: datetime) -> TimeRange | None:
    """ "N units ago" as a window around that day; a date before year 1 names no range at all."""
    n_text = m.group("n").lower()
    if n_text not in _WORDS and len(n_text) > _MAX_AGO_DIGITS:
        return None  # longer than any representable span (and int() refuses > 4,300 digits)
    n = _WORDS.get(n_text) or int(n_text)
    days = {"day": 1, "week": 7, "month": 30, "year": 365}[m.group("unit").lower()] * n
    try:
        center = today - timedelta(days=days)
        slack = timedelta(days=max(1, days // 7))
        return TimeRange(center - slack, center + slack + timedelta(days=1), m.group(0))
    except OverflowError:
        return None


def parse_time_range(text: str, now: datetime | None = None) -> TimeRange | None:
    """The event-time range a question asks about, if it names one."""
    now = now or datetime.now(UTC)
    anchor = anchor_of(text, now)
    body = _ANCHOR.sub(" ", text)
    return _absolute(body, anchor) or _relative(body, anchor)
