"""A fixed cosine scale per embedder, so the vector component means the same for every query.

Raw cosines are not comparable across queries: static token-mean vectors share a common
direction, so unrelated texts score ~0.8 and a one-word query ~0.4 against everything. The scale
removes that common part and maps the rest linearly between two points measured once
(``bench/calibrate_vector.py`` on the synthetic set's related and unrelated question/turn pairs):

    q_c  = q · common                       (the query's share of the common direction)
    cen  = (cos - q_c · doc_common) / (sqrt(1 - q_c²) · sqrt(1 - doc_common²))
    vector = clip((cen - unrelated) / (related - unrelated), 0, 1)

``cen`` is the cosine after projecting the common direction out of both vectors (exact for a
memory whose own share is ``doc_common``, the measured median); for a fixed query it is monotone
in ``cos``, so the vector ranking is unchanged. Embedders without a common direction
(hashing, Bedrock, sentence-transformers) use ``cen = cos``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

STATIC_SCALE_FILE = Path(__file__).resolve().parents[1] / "data" / "static_minilm_scale.json"


@dataclass(frozen=True)
class CosineScale:
    unrelated: float  # centred cosine at or below which vector = 0 (unrelated pairs' 75th percentile)
    related: float  # at or above which vector = 1 (related pairs' 75th percentile)
    common: tuple[float, ...] = ()  # unit vector of the embedder's common direction (may be empty)
    doc_common: float = 0.0  # a typical memory's cosine to ``common``
    source: str = ""

    def affine(self, qvec: Any) -> tuple[float, float]:
        """(a, b) with the unclipped vector value = a·cos + b for this query."""
        q_c = 0.0
        if self.common:
            common = np.asarray(self.common, dtype=np.float32)
            width = min(len(common), len(qvec))
            q_c = float(np.asarray(qvec, dtype=np.float32)[:width] @ common[:width])
        shift = q_c * self.doc_common
        denom = math.sqrt(max(1e-6, 1 - q_c * q_c)) * math.sqrt(max(1e-6, 1 - self.doc_common**2))
        span = (self.related - self.unrelated) or 1.0
        a = 1.0 / (denom * span)
        return a, -shift * a - self.unrelated / span

    def for_query(self, qvec: Any) -> Callable[[float], float]:
        """The vector component for this query, as a function of a memory's raw cosine."""
        a, b = self.affine(qvec)

        def scale(cos: float) -> float:
            return min(1.0, max(0.0, a * cos + b))

        return scale


# Measured with bench/calibrate_vector.py --embedder hashing on bench/data/synthetic_eval.json.
HASHING_SCALE = CosineScale(unrelated=0.03, related=0.58, source="measured: hashing, synthetic set 1")
# Not measured here (no model or service on this machine): typical all-MiniLM / Titan v2 points.
MODEL_SCALE = CosineScale(unrelated=0.15, related=0.6, source="assumed: sentence models")


@lru_cache(maxsize=1)
def static_scale(path: Path = STATIC_SCALE_FILE) -> CosineScale:
    data = json.loads(path.read_text())
    return CosineScale(
        unrelated=float(data["unrelated"]),
        related=float(data["related"]),
        common=tuple(float(x) for x in data["common"]),
        doc_common=float(data["doc_common"]),
        source=str(data.get("source", "")),
    )


def scale_of(embedder: Any) -> CosineScale:
    """The embedder's own ``cosine_scale`` if it has one, else the documented default."""
    scale = getattr(embedder, "cosine_scale", None)
    return scale if isinstance(scale, CosineScale) else MODEL_SCALE
