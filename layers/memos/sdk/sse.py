"""Server-sent events of ``/v1/answer/stream``: the event type and an incremental parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from memos.models import AnswerResponse


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event of ``/v1/answer/stream``: ``context``, ``delta`` (``text``), or ``done``
    (whose data is the whole AnswerResponse, parsed into ``answer``)."""

    event: str
    data: dict[str, Any]
    answer: AnswerResponse | None = None

    @property
    def text(self) -> str:
        return str(self.data.get("text", ""))


class SseParser:
    """Incremental text/event-stream parsing: feed lines, get events at each blank line."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> Iterator[StreamEvent]:
        line = line.rstrip("\r\n")
        if line == "":
            if self._data:
                data = json.loads("\n".join(self._data))
                done = AnswerResponse.model_validate(data) if self._event == "done" else None
                yield StreamEvent(self._event, data, done)
            self._event, self._data = "message", []
        elif line.startswith(":"):
            return
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
