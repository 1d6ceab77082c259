"""What one ops read may cover: the namespace named, else everything the key's grant allows.

Audit events without a namespace (key administration, denied requests) belong to no tenant and
are shown only to ``*`` grants. Queue figures count every tenant's jobs, so they too are shown
only to ``*`` grants; the per-namespace view of the pipeline comes from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from memos.access.auth import Identity
from memos.store.ops import Scope


@dataclass(frozen=True)
class Visible:
    """The namespaces one ops read covers: the one named, else the caller's whole grant."""

    namespace: str | None
    who: Identity

    @property
    def service_wide(self) -> bool:
        """May see figures that mix every tenant (queue depth)."""
        return "*" in self.who.namespaces

    def contains(self, namespace: str) -> bool:
        if self.namespace is not None:
            return namespace == self.namespace
        return self.who.can_see(namespace)

    @property
    def scope(self) -> Scope:
        """The same coverage for the store's queries."""
        return Scope(self.namespace, tuple(self.who.namespaces))
