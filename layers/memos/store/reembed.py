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
