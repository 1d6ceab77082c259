"""Keyset cursors and LIKE patterns, written once for every paged or prefix-matched read."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from memos.kernel.errors import BadRequest


def encode_cursor(kind: str, at: datetime, row_id: Any) -> str:
    """An opaque (timestamp, id) position in the list named ``kind``."""
    raw = json.dumps([kind, at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, id_type: Callable[[str], Any]) -> tuple[datetime, Any]:
    """The position back; a cursor from another list, a tampered or a naive one is 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_kind, at, row_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if got_kind != kind or when.tzinfo is None:
            raise ValueError(kind)
        return when, id_type(row_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards and escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix(prefix: str, separator: str = "") -> str:
    """A LIKE pattern for values starting with ``prefix`` (then ``separator``)."""
    return like_escape(prefix) + separator + "%"
