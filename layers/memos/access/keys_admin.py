"""API key administration: an admin key manages only keys within its own namespace grant.

A grant is an exact namespace or a ``prefix*``. A requested grant is *within* an admin's grants
when some admin grant covers every namespace the requested one could match: ``*`` covers
everything, ``acme*`` covers ``acme-1`` and ``acme-1*`` (but not ``*`` or ``ac*``), and an exact
grant covers only itself. Keys outside the caller's grant are invisible to it: listing skips them
and revoking one answers exactly like an unknown id (404), so an admin learns nothing about
other tenants' keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from memos.access import auth
from memos.access.auth import Identity
from memos.kernel.errors import Forbidden, NotFound

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def grant_covers(granted: str, requested: str) -> bool:
    """Whether every namespace ``requested`` matches is also matched by ``granted``."""
    if granted.endswith("*"):
        return requested.removesuffix("*").startswith(granted[:-1])
    return requested == granted


def within_grant(grants: Iterable[str], requested: Iterable[str]) -> bool:
    grants = tuple(grants)
    return all(any(grant_covers(g, r) for g in grants) for r in requested)


def outside_grant(grants: Iterable[str], requested: Iterable[str]) -> list[str]:
    grants = tuple(grants)
    return [r for r in requested if not any(grant_covers(g, r) for g in grants)]


def create(
    conn: psycopg.Connection[Any], who: Identity, name: str, scopes: list[str], namespaces: list[str]
) -> tuple[str, dict[str, Any]]:
    """A new key for ``who`` to hand out; refused if it would reach beyond ``who``'s own grant."""
    auth.validate_grants(scopes, namespaces)
    beyond = outside_grant(who.namespaces, namespaces)
    if beyond:
        raise Forbidden("this key may not grant namespaces outside its own grant", details=beyond)
    return auth.create_key(conn, name, scopes, namespaces, actor=who.key_id)


def visible_keys(conn: psycopg.Connection[Any], who: Identity) -> list[dict[str, Any]]:
    """Key records (never hashes) whose every namespace lies within ``who``'s grant."""
    return [k for k in auth.list_keys(conn) if within_grant(who.namespaces, k["namespaces"])]


def revoke(conn: psycopg.Connection[Any], who: Identity, key_id: str) -> dict[str, Any]:
    """Revoke a visible key and return its record; an invisible or unknown id is 404 alike."""
    try:
        wanted = uuid.UUID(key_id)
    except ValueError as exc:
        raise NotFound("no such key") from exc
    target = next((k for k in visible_keys(conn, who) if k["id"] == wanted), None)
    if target is None:
        raise NotFound("no such key")
    auth.revoke_key(conn, str(target["id"]), actor=who.key_id)
    return next(k for k in auth.list_keys(conn) if k["id"] == wanted)
