"""Lambda SnapStart hooks: nothing unique or connected may be restored from a snapshot.

The API functions and the authorizer run with SnapStart (infra/constructs/compute.py): Lambda
initializes once per published version, snapshots the memory and restores copies of it. Before
the snapshot, the function's code is loaded (its handler module only registers it, see
``functions/shared/entry.py``: the import itself stays light, and the snapshot holds the heavy
modules and the embedder's data instead of the first request paying for them), then open
connections are closed (a restored socket is a dead one, and shared by every
copy); after restore, pools and clients start empty (they reconnect on first use) and the random
generators are re-seeded so that copies do not draw the same "random" numbers.

``snapshot_restore_py`` ships with the Lambda Python runtime, not on the package index: outside
Lambda (local server, tests) the hooks are not registered and ``reset_connections`` is available
to call directly.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

Hook = Callable[..., Any]

_loaders: list[Callable[[], Any]] = []


def load_before_snapshot(loader: Callable[[], Any]) -> None:
    """Run ``loader`` (import a function's code) in the before-snapshot hook."""
    _loaders.append(loader)


def reset_connections() -> None:
    """Drop every pooled connection and client; each is re-created on first use."""
    from memos import working_memory  # imported here: they cost cold-start time
    from memos.governance import trigger
    from memos.store import db

    db.close_pool()
    working_memory.reset_client()
    trigger.reset_client()


def load_embedder() -> None:
    """A function's ``warm()`` when it embeds (query, memory, MCP): the embedder and its data load
    into the snapshot rather than into the first request."""
    from memos.embeddings import get_embedder

    get_embedder()


def load_code() -> None:
    """Import every registered function's code and run its ``warm()`` (data loads, no connection).
    A failure propagates: the snapshot, and so the version, fails before any request sees it."""
    for loader in _loaders:
        module = loader()
        warm = getattr(module, "warm", None)
        if callable(warm):
            warm()


def before_snapshot() -> None:
    load_code()
    reset_connections()  # last: loading must not leave a connection in the snapshot


def reseed() -> None:
    random.seed(os.urandom(32))


def after_restore() -> None:
    reset_connections()
    reseed()


def _runtime_hooks() -> tuple[Hook, Hook] | None:
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not running in Lambda's Python runtime
        return None
    return register_before_snapshot, register_after_restore


def register() -> bool:
    """Register the hooks with the runtime (idempotent); False outside Lambda."""
    global _registered
    hooks = _runtime_hooks()
    if hooks is None or _registered:
        return _registered
    before, after = hooks
    before(before_snapshot)
    after(after_restore)
    _registered = True
    return True


_registered = False
register()
