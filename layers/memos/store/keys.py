"""API keys: stored by SHA-256 of the key, never the key itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


_RECORD = "id, name, prefix, scopes, namespaces, created_at"


def upsert(
    conn: psycopg.Connection[Any],
    key_id: UUID,
    name: str,
    key_hash: str,
    prefix: str,
    scopes: list[str],
    namespaces: list[str],
) -> dict[str, Any]:
    """Store a key; registering a known key again un-revokes it with the new grants. Returns the record."""
    row = conn.execute(
        "INSERT INTO api_keys (id, name, key_hash, prefix, scopes, namespaces) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, scopes = EXCLUDED.scopes,"
        f" namespaces = EXCLUDED.namespaces RETURNING {_RECORD}",
        (key_id, name, key_hash, prefix, scopes, namespaces),
    ).fetchone()
    assert row is not None  # an upsert always returns its row
    return dict(row)


def all_records(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every key's record (never its hash), oldest first."""
    rows = conn.execute(
        f"SELECT {_RECORD}, revoked_at, last_used_at FROM api_keys ORDER BY created_at"
    ).fetchall()
    return [dict(r) for r in rows]


def revoke(conn: psycopg.Connection[Any], key_id: UUID) -> bool:
    """Revoke a key not yet revoked; False when there is no such key (or it was revoked already)."""
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id", (key_id,)
    ).fetchone()
    return row is not None


def use(conn: psycopg.Connection[Any], key_hash: str) -> dict[str, Any] | None:
    """The unrevoked key with this hash (id, scopes, namespaces), its last use stamped now."""
    return conn.execute(
        "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL"
        " RETURNING id, scopes, namespaces",
        (key_hash,),
    ).fetchone()


def revoke_by_hash(conn: psycopg.Connection[Any], key_hash: str) -> bool:
    """Revoke the live key with this hash; False when there is none."""
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_hash = %s AND revoked_at IS NULL RETURNING id",
        (key_hash,),
    ).fetchone()
    return row is not None
