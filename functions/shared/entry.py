"""A function's Lambda entry point, kept light: its code loads on first use.

Lambda imports ``functions.<name>.handler`` during init. That module holds only a ``LazyEntry``:
the function's code (``functions.<name>.app``: the Powertools resolver and its routes, or the
event handler) and everything it needs (Powertools, pydantic and the models, numpy and the
embedder, psycopg, redis) load when the first event arrives. With SnapStart (the API functions
and the authorizer) the before-snapshot hook loads them instead, so the snapshot holds them and a
restored copy answers its first request warm (``functions/shared/snapstart.py``). Nothing
connects at import either way: pools and clients open on first use.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from functions.shared import snapstart


class LazyEntry:
    def __init__(self, module: str) -> None:
        self.module = module
        self._handler: Any = None
        snapstart.load_before_snapshot(self.load)

    def load(self) -> ModuleType:
        """The function's code, imported once (a module import is cached and thread-safe)."""
        return importlib.import_module(self.module)

    def handler(self, event: Any, context: Any) -> Any:
        if self._handler is None:
            self._handler = self.load().handler
        return self._handler(event, context)

    def attribute(self, name: str) -> Any:
        """A name of the function's code (``app``, ``authorize``...), for the handler module's
        ``__getattr__``; dunder lookups (pickling, introspection) never trigger the import."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)
