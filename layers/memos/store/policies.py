"""Stored policy overrides, one row per namespace (the defaults live in governance/policy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memos.store.db import jsonb

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def stored(
    conn: psycopg.Connection[Any], namespace: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    """The namespace's stored overrides, or None; ``for_update`` locks the row until commit."""
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(f"SELECT settings FROM policies WHERE namespace = %s{lock}", (namespace,)).fetchone()
    return row["settings"] if row else None


def stored_row(conn: psycopg.Connection[Any], namespace: str) -> dict[str, Any] | None:
    """The namespace's stored row (settings, version, updated_at), or None."""
    return conn.execute(
        "SELECT settings, version, updated_at FROM policies WHERE namespace = %s", (namespace,)
    ).fetchone()


def save(conn: psycopg.Connection[Any], namespace: str, settings: dict[str, Any]) -> None:
    """Replace the namespace's overrides, counting versions."""
    conn.execute(
        "INSERT INTO policies (namespace, settings) VALUES (%s, %s) ON CONFLICT (namespace) DO UPDATE"
        " SET settings = EXCLUDED.settings, version = policies.version + 1, updated_at = now()",
        (namespace, jsonb(settings)),
    )


def all_stored(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every namespace's stored overrides (namespace, settings)."""
    return conn.execute("SELECT namespace, settings FROM policies").fetchall()
