"""Versioned SQL migrations, applied in order and recorded with their checksums.

The same function backs ``memos migrate`` and the deploy-time custom resource.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

MIGRATIONS_PACKAGE = "memos.store.migrations"
POSTINGS_MIGRATION = 6  # after it is applied, postings are derived for the memories already stored
_LOCK_KEY = 0x4D454D4F53  # pg_advisory_xact_lock key: one migrator at a time


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(embed_dim: int) -> list[Migration]:
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            sql = entry.read_text().replace("{{EMBED_DIM}}", str(int(embed_dim)))
            found.append(Migration(version, entry.name, sql))
    found.sort(key=lambda m: m.version)
    if len({m.version for m in found}) != len(found):
        raise RuntimeError("two migrations share a version number")
    return found


def _first_dim(conn: Any) -> int | None:
    """The dimension the store was created with (0001 was applied, and its checksum taken, with it);
    None for a new store. A dimension change (memos reembed) changes the column, not this."""
    if conn.execute("SELECT to_regclass('embedding_space')").fetchone()[0] is not None:
        return int(conn.execute("SELECT first_dim FROM embedding_space").fetchone()[0])
    declared = conn.execute(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass('memories') AND attname = 'embedding'"
    ).fetchone()
    return int(declared[0]) if declared else None


def apply_migrations(url: str, embed_dim: int) -> list[str]:
    """Apply pending migrations; return the names applied. Refuses edited, already-applied files.
    ``embed_dim`` shapes a new store; an existing one keeps its own (changed by ``memos reembed``)."""
    import psycopg

    applied: list[str] = []
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            row[0]: row[1]
            for row in conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        }
        for migration in load_migrations(_first_dim(conn) or embed_dim):
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise RuntimeError(f"migration {migration.name} changed after it was applied")
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied.append(migration.name)
            if migration.version == POSTINGS_MIGRATION:  # data only Python can derive (stemmed terms)
                from psycopg.rows import dict_row, tuple_row

                from memos.store import postings

                conn.row_factory = dict_row  # type: ignore[assignment]
                postings.backfill(conn)
                conn.row_factory = tuple_row
        conn.commit()
    return applied
