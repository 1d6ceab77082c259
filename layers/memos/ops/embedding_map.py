"""``/v1/ops/embedding_map``: a namespace's memories projected to 2-D by meaning, and a query
plotted among them with its kept and filtered candidates.

Bounded and cached: the two axes are a PCA (numpy SVD) fitted on at most ``SAMPLE`` vectors of
the namespace's mappable memories (live, duplicate, superseded) and kept in a small per-process
cache keyed by (namespace, session) and by a fingerprint of the mappable set, so a page of points
costs one matrix product and the axes are refitted only when memories change (or after
``CACHE_TTL_S``). The cache holds the axes only (a mean and two directions): no text, no ids.
Forgotten memories (expired, deleted) are never plotted; they appear as counts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memos.embeddings import space
from memos.governance import policy_store
from memos.governance.access_audit import Reader
from memos.kernel.errors import Unprocessable
from memos.models import QueryRequest, QueryResponse
from memos.models import ops as models
from memos.store import db
from memos.store import memory_maps as store

if TYPE_CHECKING:
    import numpy as np

SAMPLE = 2_000
CACHE_SIZE = 64
CACHE_TTL_S = 600.0


@dataclass(frozen=True)
class Axes:
    fingerprint: tuple[Any, ...]
    mean: np.ndarray
    axes: np.ndarray  # (2, dims)
    scale: np.ndarray  # (2,): the sample's largest |coordinate| on each axis
    explained: list[float]
    sample_size: int
    mappable: int
    dims: int
    computed_at: datetime
    fitted: float  # time.monotonic() when fitted

    def project(self, vectors: list[Any]) -> np.ndarray:
        """(n, 2) coordinates in [-1, 1]."""
        import numpy as np

        if not vectors:
            return np.zeros((0, 2))
        coords = (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.axes.T / self.scale
        return np.clip(coords, -1.0, 1.0)

    def describe(self, cached: bool) -> models.OpsProjection:
        return models.OpsProjection(
            dims=self.dims,
            sample_size=self.sample_size,
            mappable=self.mappable,
            explained_variance=self.explained,
            computed_at=self.computed_at,
            cached=cached,
        )


_cache: OrderedDict[tuple[str, str | None], Axes] = OrderedDict()
_lock = threading.Lock()


def fit(vectors: list[Any], fingerprint: tuple[Any, ...], mappable: int, dims: int) -> Axes:
    """PCA axes of ``vectors``: the top two right singular vectors of the centred sample, each
    signed so its largest component is positive (the same sample gives the same picture)."""
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1) if vectors else np.zeros((0, dims))
    mean = x.mean(axis=0) if len(x) else np.zeros(dims)
    centred = x - mean
    axes = np.zeros((2, dims))
    explained = [0.0, 0.0]
    if len(x) >= 2:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        k = min(2, len(vt))
        axes[:k] = vt[:k]
        total = float((s**2).sum())
        explained = [round(float(v) / total, 4) if total else 0.0 for v in (s[:2] ** 2)] + [0.0] * (2 - k)
    for i in range(2):
        if axes[i, np.argmax(np.abs(axes[i]))] < 0:
            axes[i] = -axes[i]
    coords = centred @ axes.T if len(x) else np.zeros((0, 2))
    scale = np.abs(coords).max(axis=0) if len(coords) else np.ones(2)
    scale[scale == 0] = 1.0
    return Axes(
        fingerprint=fingerprint,
        mean=mean,
        axes=axes,
        scale=scale,
        explained=explained,
        sample_size=len(x),
        mappable=mappable,
        dims=dims,
        computed_at=datetime.now(UTC),
        fitted=time.monotonic(),
    )


def axes_for(conn: Any, namespace: str, session_id: str | None, dim: int) -> tuple[Axes, bool]:
    """The cached axes if the mappable set is unchanged and they are fresh, else newly fitted ones
    (``dim``: the stored vectors' dimension)."""
    fingerprint = store.map_fingerprint(conn, namespace, session_id)
    key = (namespace, session_id)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit.fingerprint == fingerprint and time.monotonic() - hit.fitted < CACHE_TTL_S:
            _cache.move_to_end(key)
            return hit, True
    vectors = store.map_sample(conn, namespace, session_id, SAMPLE)
    axes = fit(vectors, fingerprint, int(fingerprint[0] or 0), dim)
    with _lock:
        _cache[key] = axes
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return axes, False


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _after(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    try:
        return UUID(cursor)
    except ValueError:
        raise Unprocessable(
            "invalid cursor", details=[{"field": "cursor", "message": "use next_cursor"}]
        ) from None


def embedding_map(
    namespace: str, session_id: str | None, cursor: str | None, limit: int
) -> models.OpsEmbeddingMap:
    window = policy_store.get_policy(namespace).l1_window_size
    with db.connection() as conn:
        embedder = space.active(conn)  # first in the transaction: the stored vectors' embedder
        axes, cached = axes_for(conn, namespace, session_id, embedder.dim)
        rows = store.map_page(conn, namespace, session_id, _after(cursor), limit + 1, window)
        counts = store.status_counts(conn, namespace, session_id)
        conn.rollback()
    more = len(rows) > limit
    rows = rows[:limit]
    coords = axes.project([r["embedding"] for r in rows])
    points = [
        models.OpsMapPoint(
            memory_id=r["id"],
            x=round(float(xy[0]), 4),
            y=round(float(xy[1]), 4),
            layer="L1" if r["in_l1"] else "L2",
            kind=r["kind"],
            status=r["status"],
            session_id=r["session_id"],
            role=r["role"],
            text=r["text"],
            duplicate_of=r["duplicate_of"],
            superseded_by=r["superseded_by"],
        )
        for r, xy in zip(rows, coords, strict=True)
    ]
    return models.OpsEmbeddingMap(
        namespace=namespace,
        session_id=session_id,
        projection=axes.describe(cached),
        points=points,
        by_status={
            "active": counts["live"],
            "duplicate": counts["duplicate"],
            "superseded": counts["superseded"],
        },
        forgotten=models.OpsForgottenCounts(expired=counts["expired"], deleted=counts["deleted"]),
        next_cursor=str(rows[-1]["id"]) if more and rows else None,
    )


def query_overlay(
    req: models.OpsMapQueryRequest, reader: Reader | None = None
) -> tuple[models.OpsMapQuery, QueryResponse]:
    """Run the query as ``POST /v1/query`` does (include_filtered; ``reader`` gets it audited) and
    place the query and its candidates on the namespace's map. Expired candidates are counted,
    never placed."""
    from memos.retrieval import search  # on first use: the other ops reads need none of retrieval

    resp = search.query(
        QueryRequest(
            namespace=req.namespace,
            query=req.query,
            session_id=req.session_id,
            top_k=req.top_k,
            include_filtered=True,
        ),
        reader=reader,
    )
    plotted = [f for f in resp.filtered if f.reason != "expired"]
    ids = [r.memory_id for r in resp.results] + [f.memory_id for f in plotted]
    with db.connection() as conn:
        embedder = space.active(conn)  # the query is placed with the embedder of the stored vectors
        qvec = embedder.embed([req.query])[0]
        axes, cached = axes_for(conn, req.namespace, None, embedder.dim)
        vectors = store.map_vectors(conn, req.namespace, list(dict.fromkeys(ids)))
        conn.rollback()
    (qx, qy), *_ = axes.project([qvec])

    def place(memory_id: UUID) -> tuple[float, float] | None:
        if memory_id not in vectors:
            return None
        x, y = axes.project([vectors[memory_id]])[0]
        return round(float(x), 4), round(float(y), 4)

    kept = []
    for rank, r in enumerate(resp.results, 1):
        at = place(r.memory_id)
        if at is not None:
            kept.append(
                models.OpsMapCandidate(
                    memory_id=r.memory_id, x=at[0], y=at[1], rank=rank, score=r.score, layer=r.layer
                )
            )
    filtered = []
    for f in plotted:
        at = place(f.memory_id)
        if at is not None:
            filtered.append(models.OpsMapCandidate(memory_id=f.memory_id, x=at[0], y=at[1], reason=f.reason))
    overlay = models.OpsMapQuery(
        query_id=resp.query_id,
        query=req.query,
        x=round(float(qx), 4),
        y=round(float(qy), 4),
        kept=kept,
        filtered=filtered,
        forgotten_filtered=len(resp.filtered) - len(plotted),
        projection=axes.describe(cached),
    )
    return overlay, resp
