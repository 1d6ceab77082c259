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

from dataclasses import dataclass

from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import Conflict
from memos.store import db
from memos.store import reembed as store


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
        if store.column_dim(conn) != settings.embed_dim:
            raise Conflict(
                f"the store holds {store.column_dim(conn)}-dimensional vectors and MEMOS_EMBED_DIM is "
                f"{settings.embed_dim}: a dimension change needs a schema change, not a re-embed"
            )
        run, resumed = store.open_run(conn, target, namespace)
        conn.commit()
    batches = 0
    finished = False
    while max_batches is None or batches < max_batches:
        with db.connection() as conn:
            rows = store.next_batch(conn, run["last_id"], namespace, target, batch_size)
            if not rows:
                store.finish_run(conn, run["id"])
                conn.commit()
                finished = True
                break
            vectors = embedder.embed([r["text"] for r in rows])
            store.write_vectors(conn, target, [(r["id"], vectors[i]) for i, r in enumerate(rows)])
            run["last_id"] = rows[-1]["id"]
            run["reembedded"] = int(run["reembedded"]) + len(rows)
            store.mark_progress(conn, run["id"], run["last_id"], run["reembedded"])
            conn.commit()  # the batch and the progress mark land together
        batches += 1
    return ReembedReport(
        str(run["id"]), target, namespace, int(run["reembedded"]), batches, finished, resumed
    )
