"""Re-embedding the store after the embedder changes, without downtime for reads.

Two ways, chosen by the configured dimension (``MEMOS_EMBED_DIM``) against the column's:

- **Same dimension: in place.** Rows are rewritten one batch per transaction, in id order, for a
  namespace or the whole store; reads and writes go on (a query meanwhile compares its vector with
  a mix of old and new rows, so vector similarity is weaker for rows not yet done; full text is
  unaffected). Each row records the embedder that made its vector (``memories.embedder``); a run
  records its position in ``reembed_runs``, so an interrupted run resumes where it stopped.
- **Another dimension: a shadow column, switched at the end** (the whole store only). The change
  adds ``memories.embedding_next vector(<new dim>)`` (nullable, no default: no table rewrite),
  fills it in batches from a partial index of the rows still to do, and meanwhile every query and
  write keeps using ``embedding`` with the embedder that made it (``memos.embeddings.space``). A row
  whose vector changes during the fill (edited, forgotten) loses its shadow vector to a trigger
  and is filled again; new rows join the queue by themselves. When the queue is (nearly) empty,
  one short transaction takes the space lock and the table, fills the last few rows, drops the old
  column and renames the shadow one to ``embedding``. Readers and writers wait for that
  transaction (milliseconds), then use the new embedder. Every step is resumable: run it again.
  Approximate-nearest-neighbour indexes on the old column go with it; rebuild them after the
  switch (docs/DEPLOY.md). Exact search works meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memos.embeddings import space
from memos.kernel.config import get_settings
from memos.kernel.errors import Conflict
from memos.store import db
from memos.store import reembed as store

LOCK_TIMEOUT_MS = 3000  # a DDL step waits this long for in-flight transactions, then gives up (retry)
SWITCH_MAX_PENDING = 64  # rows the switch may still fill while readers wait


def embedder_id() -> str:
    """The name stored with each vector written by this process ("<embedder>:<dim>")."""
    return space.active_id()


@dataclass(frozen=True)
class ReembedReport:
    run_id: str
    embedder: str
    namespace: str | None
    reembedded: int  # by this run, over all its invocations
    batches: int  # in this invocation
    finished: bool
    resumed: bool
    mode: str = "in_place"  # or "shadow" (a dimension change)
    switched: bool = False  # a shadow change switched columns in this invocation


def reembed(
    namespace: str | None = None, *, batch_size: int = 256, max_batches: int | None = None
) -> ReembedReport:
    """Re-embed ``namespace`` (or every namespace) with the configured embedder.

    ``max_batches`` bounds this invocation (a Lambda or a cron slot); call again to continue."""
    settings = get_settings()
    target = space.configured_id(settings)
    with db.connection() as conn:
        current = store.space(conn)
    if current["target"] is not None and current["target"] != target:
        raise Conflict(
            f"a change to {current['target']} is in progress: finish it with that configuration, "
            "or abort it (memos reembed --abort)"
        )
    if current["target"] is not None or current["dim"] != settings.embed_dim:
        if namespace is not None:
            raise Conflict(
                f"the store holds {current['dim']}-dimensional vectors and MEMOS_EMBED_DIM is "
                f"{settings.embed_dim}: a dimension change covers the whole store (omit --namespace)"
            )
        return _change_dimension(target, settings.embed_dim, batch_size, max_batches)
    return _in_place(target, namespace, batch_size, max_batches)


def _in_place(target: str, namespace: str | None, batch_size: int, max_batches: int | None) -> ReembedReport:
    embedder = space.embedder_for(target)
    with db.connection() as conn:
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


def _change_dimension(target: str, dim: int, batch_size: int, max_batches: int | None) -> ReembedReport:
    embedder = space.embedder_for(target)
    with db.connection() as conn:
        if store.space(conn)["target"] is None:
            active = store.most_common_embedder(conn, store.column_dim(conn))
            store.start_change(conn, active, target, dim, LOCK_TIMEOUT_MS)
        run, resumed = store.open_run(conn, target, None)
        conn.commit()
        store.ensure_shadow_index(conn)
    batches, switched, finished = 0, False, False
    while max_batches is None or batches < max_batches:
        with db.connection() as conn:
            done = _fill_batch(conn, embedder, target, batch_size)
            if done:
                run["reembedded"] = int(run["reembedded"]) + done
                store.mark_progress(conn, run["id"], None, run["reembedded"])
            conn.commit()
        if done:
            batches += 1
        if done < batch_size:  # the queue is (nearly) empty: switch
            with db.connection() as conn:
                if store.shadow_pending(conn) > SWITCH_MAX_PENDING:
                    if done == 0:  # the rows left are locked by another run: it will switch
                        break
                    continue
                conn.rollback()
                store.lock_for_switch(conn, LOCK_TIMEOUT_MS)
                last = _fill_batch(conn, embedder, target, SWITCH_MAX_PENDING * 4)
                store.switch_columns(conn, target, dim)
                run["reembedded"] = int(run["reembedded"]) + last
                store.mark_progress(conn, run["id"], None, run["reembedded"])
                store.finish_run(conn, run["id"])
                conn.commit()
                store.restore_not_null(conn)
                conn.commit()
            switched = finished = True
            break
    return ReembedReport(
        str(run["id"]), target, None, int(run["reembedded"]), batches, finished, resumed, "shadow", switched
    )


def _fill_batch(conn: Any, embedder: Any, target: str, limit: int) -> int:
    """Fill the shadow vectors of up to ``limit`` rows; a forgotten row gets a zero vector."""
    from memos.retrieval.lexical import indexed_text

    rows = store.next_shadow_batch(conn, limit)
    if not rows:
        return 0
    live = [r for r in rows if not r["forgotten"]]
    vectors = embedder.embed([indexed_text(r["text"], r["metadata"]) for r in live]) if live else []
    made = {r["id"]: vectors[i] for i, r in enumerate(live)}
    zero = [0.0] * embedder.dim
    store.write_shadow(conn, target, [(r["id"], made.get(r["id"], zero)) for r in rows])
    return len(rows)


def finish_pending() -> bool:
    """Restore NOT NULL after a switch that was interrupted before it (resumable); True if done."""
    with db.connection() as conn:
        done = store.restore_not_null(conn)
        conn.commit()
    return done


def abort() -> bool:
    """Give up a dimension change before its switch: the shadow column goes, nothing else changes."""
    with db.connection() as conn:
        if store.space(conn)["target"] is None:
            return False
        store.abort_change(conn, LOCK_TIMEOUT_MS)
        store.abort_runs(conn)
        conn.commit()
    return True
