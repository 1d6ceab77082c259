"""The statements of a re-embedding run (see embeddings/reembed.py): its progress row and the batches."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg loads on first database use (cold start)
    import psycopg


def column_dim(conn: psycopg.Connection[Any]) -> int:
    """The dimension the ``memories.embedding`` column was declared with."""
    row = conn.execute(
        "SELECT atttypmod AS dim FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'"
    ).fetchone()
    return int(row["dim"])  # type: ignore[index]


def open_run(
    conn: psycopg.Connection[Any], target: str, namespace: str | None
) -> tuple[dict[str, Any], bool]:
    """The unfinished run for (target, namespace), locked, or a new one; and whether it resumed."""
    run = conn.execute(
        "SELECT id, last_id, reembedded FROM reembed_runs WHERE embedder = %s AND namespace IS NOT DISTINCT FROM %s"
        " AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1 FOR UPDATE",
        (target, namespace),
    ).fetchone()
    if run is not None:
        return run, True
    run = {"id": uuid.uuid4(), "last_id": None, "reembedded": 0}
    conn.execute(
        "INSERT INTO reembed_runs (id, namespace, embedder) VALUES (%s, %s, %s)",
        (run["id"], namespace, target),
    )
    return run, False


def next_batch(
    conn: psycopg.Connection[Any], last_id: Any, namespace: str | None, target: str, limit: int
) -> list[dict[str, Any]]:
    """The next rows after ``last_id`` not made by ``target``, in id order, locked."""
    return conn.execute(
        "SELECT id, text FROM memories WHERE (%(last)s::uuid IS NULL OR id > %(last)s)"
        " AND (%(ns)s::text IS NULL OR namespace = %(ns)s) AND embedder IS DISTINCT FROM %(target)s"
        " ORDER BY id LIMIT %(n)s FOR UPDATE",
        {"last": last_id, "ns": namespace, "target": target, "n": limit},
    ).fetchall()


def write_vectors(conn: psycopg.Connection[Any], target: str, rows: list[tuple[Any, list[float]]]) -> None:
    """Store each (id, vector) as made by ``target``."""
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE memories SET embedding = %s, embedder = %s WHERE id = %s",
            [(vector, target, row_id) for row_id, vector in rows],
        )


def mark_progress(conn: psycopg.Connection[Any], run_id: Any, last_id: Any, reembedded: int) -> None:
    conn.execute(
        "UPDATE reembed_runs SET last_id = %s, reembedded = %s, updated_at = now() WHERE id = %s",
        (last_id, reembedded, run_id),
    )


def finish_run(conn: psycopg.Connection[Any], run_id: Any) -> None:
    conn.execute(
        "UPDATE reembed_runs SET finished_at = now(), updated_at = now() WHERE id = %s",
        (run_id,),
    )


# --- the embedding space and a dimension change (shadow column, switch by renaming) -----------

SPACE_LOCK = 0x4D454D4F5345  # pg_advisory_xact_lock key: a switch excludes every reader and writer
SHADOW_INDEX = "memories_reembed_todo"
SHADOW_TRIGGER = "memories_shadow_stale"
NOT_NULL_CHECK = "memories_embedding_present"


def lock_space_shared(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The embedding space (dim, active, target, switched_at), read after taking the shared lock:
    a switch waits for this transaction, and this transaction sees a finished switch. Must come
    before the transaction touches ``memories`` (the switch takes the lock, then the table)."""
    with conn.pipeline():  # two statements (the read's snapshot follows the lock), one round trip
        cur = send_space_lock(conn)
    return space_row(cur)


def send_space_lock(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    """``lock_space_shared``'s two statements, queued in the caller's pipeline (the caller may queue
    more behind them); ``space_row`` reads the result."""
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (SPACE_LOCK,))
    return conn.execute("SELECT dim, active, target, started_at, switched_at FROM embedding_space")


def space_row(cur: psycopg.Cursor[Any]) -> dict[str, Any]:
    row = cur.fetchone()
    assert row is not None, "migration 0010 inserts the one row"
    return row


def space(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    row = conn.execute("SELECT dim, active, target, started_at, switched_at FROM embedding_space").fetchone()
    assert row is not None, "migration 0010 inserts the one row"
    return row


def deallocate_all(conn: psycopg.Connection[Any]) -> None:
    """Forget prepared statements: after a switch, one that returns the old column would fail. Its
    answer is read before anything else is sent (psycopg forgets its prepared names when it reads
    it; a statement queued behind it in the caller's pipeline would use a name already gone)."""
    with conn.pipeline():
        conn.execute("DEALLOCATE ALL")


def most_common_embedder(conn: psycopg.Connection[Any], dim: int) -> str | None:
    """The embedder most rows say made their vector, among those of ``dim`` dimensions."""
    row = conn.execute(
        "SELECT embedder FROM memories WHERE embedder LIKE %s GROUP BY embedder ORDER BY count(*) DESC LIMIT 1",
        (f"%:{int(dim)}",),
    ).fetchone()
    return row["embedder"] if row else None


def some_embedder(conn: psycopg.Connection[Any], dim: int) -> str | None:
    """The embedder one row of ``dim`` dimensions says made its vector (the first found: cheap)."""
    row = conn.execute(
        "SELECT embedder FROM memories WHERE embedder LIKE %s LIMIT 1", (f"%:{int(dim)}",)
    ).fetchone()
    return row["embedder"] if row else None


def start_change(
    conn: psycopg.Connection[Any], active: str | None, target: str, dim: int, lock_timeout_ms: int
) -> None:
    """Add the shadow column (metadata only: nullable, no default), the trigger that keeps it
    honest, and record the change. Brief: every reader and writer waits for this transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SPACE_LOCK,))
    conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
    conn.execute(
        f"ALTER TABLE memories ADD COLUMN IF NOT EXISTS embedding_next vector({int(dim)}),"
        " ADD COLUMN IF NOT EXISTS embedder_next text"
    )
    conn.execute(f"DROP TRIGGER IF EXISTS {SHADOW_TRIGGER} ON memories")
    conn.execute(
        f"CREATE TRIGGER {SHADOW_TRIGGER} BEFORE UPDATE OF embedding ON memories FOR EACH ROW"
        " WHEN (OLD.embedding IS DISTINCT FROM NEW.embedding) EXECUTE FUNCTION memories_shadow_stale()"
    )
    conn.execute(
        "UPDATE embedding_space SET active = coalesce(active, %s), target = %s, started_at = now(),"
        " updated_at = now()",
        (active, target),
    )


def ensure_shadow_index(conn: psycopg.Connection[Any]) -> None:
    """The queue of rows still to fill: a partial index, built without blocking writes. ``conn``
    must be idle (no transaction open); an index left invalid by an interrupted build is rebuilt."""
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        valid = conn.execute(
            "SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = %s",
            (SHADOW_INDEX,),
        ).fetchone()
        if valid is not None and not valid["valid"]:
            conn.execute(f"DROP INDEX CONCURRENTLY {SHADOW_INDEX}")
        if valid is None or not valid["valid"]:
            conn.execute(
                f"CREATE INDEX CONCURRENTLY {SHADOW_INDEX} ON memories (id) WHERE embedder_next IS NULL"
            )
    finally:
        conn.autocommit = autocommit


def next_shadow_batch(conn: psycopg.Connection[Any], limit: int) -> list[dict[str, Any]]:
    """Rows without a shadow vector, in id order, locked (a concurrent run takes other rows)."""
    return conn.execute(
        "SELECT id, text, metadata, forgotten_at IS NOT NULL AS forgotten FROM memories"
        " WHERE embedder_next IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        (limit,),
    ).fetchall()


def write_shadow(conn: psycopg.Connection[Any], target: str, rows: list[tuple[Any, Any]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE memories SET embedding_next = %s, embedder_next = %s WHERE id = %s",
            [(vector, target, row_id) for row_id, vector in rows],
        )


def shadow_pending(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM memories WHERE embedder_next IS NULL").fetchone()
    return int(row["n"])  # type: ignore[index]


def lock_for_switch(conn: psycopg.Connection[Any], lock_timeout_ms: int) -> None:
    """Every reader and writer waits from here to the commit: the space lock, then the table."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SPACE_LOCK,))
    conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
    conn.execute("LOCK TABLE memories IN ACCESS EXCLUSIVE MODE")


def switch_columns(conn: psycopg.Connection[Any], target: str, dim: int) -> None:
    """The shadow column becomes ``embedding`` (the old one and its indexes are dropped: metadata
    only). NOT NULL comes back without a scan here: a NOT VALID check now, validated after."""
    conn.execute(f"DROP TRIGGER IF EXISTS {SHADOW_TRIGGER} ON memories")
    conn.execute(f"DROP INDEX IF EXISTS {SHADOW_INDEX}")
    conn.execute("ALTER TABLE memories DROP COLUMN embedding, DROP COLUMN embedder")
    conn.execute("ALTER TABLE memories RENAME COLUMN embedding_next TO embedding")
    conn.execute("ALTER TABLE memories RENAME COLUMN embedder_next TO embedder")
    conn.execute(
        f"ALTER TABLE memories ADD CONSTRAINT {NOT_NULL_CHECK} CHECK (embedding IS NOT NULL) NOT VALID"
    )
    conn.execute(
        "UPDATE embedding_space SET dim = %s, active = %s, target = NULL, switched_at = now(),"
        " updated_at = now()",
        (dim, target),
    )


def restore_not_null(conn: psycopg.Connection[Any]) -> bool:
    """After a switch: validate the check (a scan that blocks neither reads nor writes), then SET
    NOT NULL (proved by the check: no scan) and drop the check. False when there is none to do."""
    found = conn.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", (NOT_NULL_CHECK,)).fetchone()
    if found is None:
        return False
    conn.execute(f"ALTER TABLE memories VALIDATE CONSTRAINT {NOT_NULL_CHECK}")
    conn.commit()
    conn.execute("ALTER TABLE memories ALTER COLUMN embedding SET NOT NULL")
    conn.execute(f"ALTER TABLE memories DROP CONSTRAINT {NOT_NULL_CHECK}")
    return True


def abort_change(conn: psycopg.Connection[Any], lock_timeout_ms: int) -> None:
    """Drop the shadow column, its index and trigger; the store stays as it was before the change."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SPACE_LOCK,))
    conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
    conn.execute(f"DROP TRIGGER IF EXISTS {SHADOW_TRIGGER} ON memories")
    conn.execute(f"DROP INDEX IF EXISTS {SHADOW_INDEX}")
    conn.execute(
        "ALTER TABLE memories DROP COLUMN IF EXISTS embedding_next, DROP COLUMN IF EXISTS embedder_next"
    )
    conn.execute("UPDATE embedding_space SET target = NULL, started_at = NULL, updated_at = now()")


def abort_runs(conn: psycopg.Connection[Any]) -> None:
    """Close the runs of an aborted change (any unfinished run whose dimension is not the column's)."""
    conn.execute(
        "UPDATE reembed_runs SET finished_at = now(), updated_at = now() WHERE finished_at IS NULL"
        " AND split_part(embedder, ':', 2)::int <> (SELECT dim FROM embedding_space)"
    )
