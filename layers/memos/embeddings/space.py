"""Which embedder the stored vectors belong to, decided inside the transaction that uses them.

``memories.embedding`` holds the vectors of one embedder ("<embedder>:<dim>"), recorded in
``embedding_space`` (migration 0010). The configured embedder (``MEMOS_EMBEDDER`` and
``MEMOS_EMBED_DIM``) is used whenever its dimension is the column's; otherwise (an operator
changing the dimension: the new configuration deployed before the switch, or the old one still
running after it) the recorded one is. ``active(conn)`` takes a shared lock that the switch of a
dimension change takes exclusively, so a query or a write never embeds for one column and reads
or writes another (memos.embeddings.reembed).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from memos.embeddings import Embedder, get_embedder, make_embedder
from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import DependencyUnavailable
from memos.store import reembed as store

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

T = TypeVar("T")
_last_active: str | None = None  # what this process last resolved (memories.embedder records it)
# The space each connection last saw: after a switch, its prepared statements must go.
_seen: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def configured_id(settings: Settings | None = None) -> str:
    s = settings or get_settings()
    return f"{s.embedder}:{s.embed_dim}"


def parse_id(embedder_id: str) -> tuple[str, int]:
    name, _, dim = embedder_id.rpartition(":")
    return name, int(dim)


@lru_cache(maxsize=4)
def embedder_for(embedder_id: str) -> Embedder:
    """The embedder an id names; the configured one is the process's own instance."""
    if embedder_id == configured_id():
        return get_embedder()
    name, dim = parse_id(embedder_id)
    return make_embedder(get_settings().model_copy(update={"embedder": name, "embed_dim": dim}))


def resolve(
    space: dict[str, Any], settings: Settings | None = None, recorded: Callable[[], str | None] = lambda: None
) -> str:
    """The id of the embedder whose vectors ``memories.embedding`` holds: the configured one if it
    fits the column, else the space's record, else what the rows record (``recorded``)."""
    configured = configured_id(settings)
    if parse_id(configured)[1] == space["dim"]:
        return configured
    if space["active"] and parse_id(space["active"])[1] == space["dim"]:
        return str(space["active"])
    found = recorded()
    if found:
        return found
    raise DependencyUnavailable(
        f"the store holds {space['dim']}-dimensional vectors of an unrecorded embedder and "
        f"MEMOS_EMBED_DIM is {parse_id(configured)[1]}: run `memos reembed` (docs/DEPLOY.md)"
    )


def active(conn: psycopg.Connection[Any]) -> Embedder:
    """The embedder for ``memories.embedding`` in this transaction; call it before the transaction
    touches ``memories`` (lock order: the space, then the table)."""
    return resolved(conn, store.lock_space_shared(conn))


def active_and(conn: psycopg.Connection[Any], send: Callable[[], Callable[[], T]]) -> tuple[Embedder, T]:
    """``active`` with other reads in the same round trip, behind the lock, in the caller's pipeline
    (``memos.store.db.pipelined_transaction``; a nested one would first wait for what is queued):
    ``send`` queues them and returns what reads their answer (ingest's reads)."""
    space_cur = store.send_space_lock(conn)
    read = send()
    return resolved(conn, store.space_row(space_cur)), read()


def expected() -> Embedder:
    """The embedder ``active`` most likely resolves (what this process last resolved, else the
    configured one), to embed with before the transaction reads the space; the caller checks."""
    return embedder_for(active_id())


def resolved(conn: psycopg.Connection[Any], space: dict[str, Any]) -> Embedder:
    """The embedder for the space row ``lock_space_shared`` (or ``memos.store.first_reads``) read
    under the shared lock in this transaction."""
    global _last_active
    generation = hash((space["dim"], space["switched_at"]))
    if _seen.get(conn) != generation:
        if space["switched_at"] is not None:  # a statement prepared before a switch returns the old column
            store.deallocate_all(conn)
        _seen[conn] = generation
    _last_active = resolve(space, recorded=lambda: store.some_embedder(conn, space["dim"]))
    return embedder_for(_last_active)


def active_id() -> str:
    """The id of the embedder this process writes vectors with (the configured one until a
    transaction has read the space)."""
    return _last_active or configured_id()
