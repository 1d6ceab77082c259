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

import gc
import importlib
from types import ModuleType
from typing import Any

from functions.shared import snapstart

# The cyclic collector's first-generation threshold (Python's default is 700 allocations): a batch
# ingest of 500 items allocates tens of thousands of short-lived containers, freed by reference
# counting, and the default ran ~30 young collections a batch (docs/BENCHMARKS.md, "Writes, fifth
# round").
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once the function's code is loaded: what it loaded (modules, models, the embedder's tables)
    lives as long as the process, so it leaves the collector's generations (``gc.freeze``) and the
    full collections stop walking it (one took ~0.4 s of a batch ingest every few batches), and
    young collections run less often."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


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
            settle_heap()
        return self._handler(event, context)

    def attribute(self, name: str) -> Any:
        """A name of the function's code (``app``, ``authorize``...), for the handler module's
        ``__getattr__``; dunder lookups (pickling, introspection) never trigger the import."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)
