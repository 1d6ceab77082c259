"""Re-embedding the store after the embedder changes, without downtime for reads.

Rows are rewritten in place, one batch per transaction, in id order: reads and writes go on
throughout (a query meanwhile compares its vector with a mix of old and new rows, so vector
similarity is weaker for rows not yet done; full text is unaffected). Each row records the
embedder that made its vector (``memories.embedder``, "<embedder>:<dim>"); a run records its
position in ``reembed_runs``, so an interrupted run resumes where it stopped, and rows already
made by the target embedder are skipped.

Order of operations (docs/OPS.md): deploy the new ``MEMOS_EMBEDDER`` first (new rows and queries
use it), then run ``memos reembed``. A different dimension needs a new column type and index,
which this module does not do: it refuses, leaving the store as it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import Conflict
from memos.store import db


def embedder_id(settings: Settings | None = None) -> str:
    """The name stored with each vector: "<embedder>:<dim>"."""
    s = settings or get_settings()
    return f"{s.embedder}:{s.embed_dim}"


@dataclass(frozen=True)
class ReembedReport:
    run_id: str
    embedder: str
    namespace: str | None
    reembedded: int  # by this run, over all its invocations
    batches: int  # in this invocation
    finished: bool
    resumed: bool


def _column_dim(conn: Any) -> int:
    row = conn.execute(
        "SELECT atttypmod AS dim FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'"
    ).fetchone()
    return int(row["dim"])


def _open_run(conn: Any, target: str, namespace: str | None) -> tuple[dict[str, Any], bool]:
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


def reembed(
    namespace: str | None = None, *, batch_size: int = 256, max_batches: int | None = None
) -> ReembedReport:
    """Re-embed ``namespace`` (or every namespace) with the configured embedder.

    ``max_batches`` bounds this invocation (a Lambda or a cron slot); call again to continue."""
    from memos.embeddings import get_embedder

    settings = get_settings()
    target = embedder_id(settings)
    embedder = get_embedder()
    with db.connection() as conn:
        if _column_dim(conn) != settings.embed_dim:
            raise Conflict(
                f"the store holds {_column_dim(conn)}-dimensional vectors and MEMOS_EMBED_DIM is "
                f"{settings.embed_dim}: a dimension change needs a schema change, not a re-embed"
            )
        run, resumed = _open_run(conn, target, namespace)
        conn.commit()
    batches = 0
    finished = False
    while max_batches is None or batches < max_batches:
        with db.connection() as conn:
            rows = conn.execute(
                "SELECT id, text FROM memories WHERE (%(last)s::uuid IS NULL OR id > %(last)s)"
                " AND (%(ns)s::text IS NULL OR namespace = %(ns)s) AND embedder IS DISTINCT FROM %(target)s"
                " ORDER BY id LIMIT %(n)s FOR UPDATE",
                {"last": run["last_id"], "ns": namespace, "target": target, "n": batch_size},
            ).fetchall()
            if not rows:
                conn.execute(
                    "UPDATE reembed_runs SET finished_at = now(), updated_at = now() WHERE id = %s",
                    (run["id"],),
                )
                conn.commit()
                finished = True
                break
            vectors = embedder.embed([r["text"] for r in rows])
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE memories SET embedding = %s, embedder = %s WHERE id = %s",
                    [(vectors[i], target, r["id"]) for i, r in enumerate(rows)],
                )
            run["last_id"] = rows[-1]["id"]
            run["reembedded"] = int(run["reembedded"]) + len(rows)
            conn.execute(
                "UPDATE reembed_runs SET last_id = %s, reembedded = %s, updated_at = now() WHERE id = %s",
                (run["last_id"], run["reembedded"], run["id"]),
            )
            conn.commit()  # the batch and the progress mark land together
        batches += 1
    return ReembedReport(
        str(run["id"]), target, namespace, int(run["reembedded"]), batches, finished, resumed
    )
