"""Lambda entry point: the migrations custom resource.

The code is ``functions/migrate/app.py``, loaded on first use or before a SnapStart snapshot
(``functions/shared/entry.py``).
"""

from __future__ import annotations

from typing import Any

from functions.shared.entry import LazyEntry

_entry = LazyEntry("functions.migrate.app")
handler = _entry.handler


def __getattr__(name: str) -> Any:  # the code's own names (app, ...), loaded on first use
    return _entry.attribute(name)
