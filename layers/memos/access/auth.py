"""API keys and caller identity.

Keys look like ``memos_<prefix>_<secret>``; only their SHA-256 is stored. Each key has scopes and
the namespaces it may touch (exact names or ``prefix*``). A namespace a key may not see is
answered exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memos.kernel.errors import BadRequest, Forbidden, NotFound, Unauthorized
from memos.store import audit, keys

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg

SCOPES = ("memory:write", "memory:read", "ops:read", "admin")
_NAMESPACE_GRANT = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}\*?)$")


@dataclass(frozen=True)
class Identity:
    key_id: str
    scopes: frozenset[str]
    namespaces: tuple[str, ...]

    def can_see(self, namespace: str) -> bool:
        for grant in self.namespaces:
            if grant.endswith("*"):
                if namespace.startswith(grant[:-1]):
                    return True
            elif grant == namespace:
                return True
        return False

    def has_scope(self, scope: str) -> bool:
        return scope == "any" or scope in self.scopes or "admin" in self.scopes

    def authorize(self, scope: str, namespace: str | None = None) -> None:
        """The access rule: the scope, and the namespace inside the grant. Called only with a scope
        from the route table (functions/shared/access.py for routes, the MCP tool dispatch)."""
        if not self.has_scope(scope):
            raise Forbidden(f"this key lacks the {scope} scope")
        if namespace is not None and not self.can_see(namespace):
            raise Forbidden("this key may not access that namespace")

    def to_context(self) -> dict[str, str]:
        """The authorizer context API Gateway hands to handlers (string values only)."""
        return {
            "key_id": self.key_id,
            "scopes": ",".join(sorted(self.scopes)),
            "namespaces": ",".join(self.namespaces),
        }

    @classmethod
    def from_context(cls, ctx: dict[str, Any] | None) -> Identity:
        if not ctx or not ctx.get("key_id"):
            raise Unauthorized("missing or invalid API key")
        scopes = frozenset(s for s in str(ctx.get("scopes", "")).split(",") if s)
        namespaces = tuple(n for n in str(ctx.get("namespaces", "")).split(",") if n)
        return cls(str(ctx["key_id"]), scopes, namespaces)


KEY_CACHE_TTL_S = 5.0  # the revocation bound for processes other than the revoking one


class KeyCache:
    """Identities of recently validated keys, by key hash, for ``ttl_s`` seconds.

    A key revoked elsewhere keeps working here until its entry expires (at most ``ttl_s``). A key
    revoked in this process stops at once: ``forget`` drops its entries and keeps its id out of the
    cache for good, so even a lookup that raced the revoking transaction is not served again."""

    def __init__(self, ttl_s: float = KEY_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Identity]] = {}
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Identity | None:
        with self._lock:
            hit = self._entries.get(digest)
            if hit is None:
                return None
            expires, who = hit
            if expires <= time.monotonic() or who.key_id in self._revoked:
                del self._entries[digest]
                return None
            return who

    def put(self, digest: str, who: Identity) -> None:
        with self._lock:
            if who.key_id not in self._revoked:
                self._entries[digest] = (time.monotonic() + self.ttl_s, who)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._revoked.add(key_id)
            for digest in [d for d, (_, who) in self._entries.items() if who.key_id == key_id]:
                del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._revoked.clear()


key_cache = KeyCache()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def extract_key(headers: dict[str, str] | None) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``x-api-key`` (header names case-insensitive)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items() if v}
    auth = lowered.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return lowered.get("x-api-key") or None


def validate_grants(scopes: list[str], namespaces: list[str]) -> None:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise BadRequest(f"scopes must be some of {', '.join(SCOPES)}", details=bad)
    bad = [n for n in namespaces if not _NAMESPACE_GRANT.match(n)]
    if bad or not namespaces:
        raise BadRequest("namespaces must be names or prefixes ending in *", details=bad)


def create_key(
    conn: psycopg.Connection[Any],
    name: str,
    scopes: list[str],
    namespaces: list[str],
    key: str | None = None,
    actor: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Create a key (or register a given one); returns the plaintext once and the stored record."""
    validate_grants(scopes, namespaces)
    key = key or f"memos_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"
    key_id = uuid.uuid4()
    row = keys.upsert(conn, key_id, name, hash_key(key), key[:14], scopes, namespaces)
    audit.record(
        conn,
        "key_create",
        actor=actor,
        details={"key_id": str(row["id"]), "name": name, "scopes": scopes, "namespaces": namespaces},
    )
    return key, row


def list_keys(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return keys.all_records(conn)


def revoke_key(conn: psycopg.Connection[Any], key_id: str, actor: str | None = None) -> None:
    try:
        kid = uuid.UUID(key_id)
    except ValueError as exc:
        raise NotFound("no such key") from exc
    if not keys.revoke(conn, kid):
        raise NotFound("no such key")
    key_cache.forget(str(kid))  # this process refuses the key from now on, committed or not yet
    audit.record(conn, "key_revoke", actor=actor, details={"key_id": key_id})


def authenticate(conn: psycopg.Connection[Any], key: str | None) -> Identity:
    if not key:
        raise Unauthorized("missing API key: send Authorization: Bearer <key> or x-api-key")
    row = keys.use(conn, hash_key(key))
    if row is None:
        raise Unauthorized("invalid or revoked API key")
    return Identity(str(row["id"]), frozenset(row["scopes"]), tuple(row["namespaces"]))
