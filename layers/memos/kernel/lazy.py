"""A process-wide object made on first use: none at import, none in a SnapStart snapshot.

Clients, pools and thread pools are reused across warm invocations; each is built once, by the
first thread that needs it, and can be dropped (after a restore, a rotated secret, a lost server)
so the next use builds a fresh one. They hold no request data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._make()
        return value

    def drop(self) -> T | None:
        """Forget the object (the next ``get`` makes a new one) and return it, for closing."""
        with self._lock:
            value, self._value = self._value, None
        return value
