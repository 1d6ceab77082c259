"""Embeddings behind one interface.

- ``StaticEmbedder`` (default, ``memos.embeddings.static``): static token vectors distilled once from
  all-MiniLM-L6-v2 and shipped with the package; numpy at run time, no model, no network.
- ``HashingEmbedder``: no data at all. Hashed features of stemmed content words,
  word bigrams and character trigrams, signed and L2-normalised. Texts that share words or word
  pieces land close; unrelated texts land near-orthogonal. Deterministic across processes.
- ``BedrockEmbedder``: Amazon Titan text embeddings v2 through boto3.
- ``SentenceTransformerEmbedder``: a local all-MiniLM-L6-v2 (extra ``local-embed``).
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from memos.embeddings.calibration import HASHING_SCALE
from memos.kernel.config import Settings, get_settings
from memos.kernel.errors import DependencyUnavailable
from memos.kernel.text import STOPWORDS, stem, words


class Embedder(Protocol):
    dim: int
    # optional: ``cosine_scale`` (memos.embeddings.calibration.CosineScale), the fixed map from
    # this embedder's cosine to the vector component; without it the documented default applies

    def embed(self, texts: list[str]) -> np.ndarray:  # shape (len(texts), dim), rows L2-normalised
        ...


class HashingEmbedder:
    WORD_WEIGHT, BIGRAM_WEIGHT, TRIGRAM_WEIGHT = 1.0, 0.5, 0.25

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.cosine_scale = HASHING_SCALE

    def _features(self, text: str) -> dict[int, float]:
        feats: dict[int, float] = {}
        dim = self.dim

        def add(key: str, weight: float) -> None:
            h = zlib.crc32(key.encode())
            idx = h % dim
            sign = 1.0 if (h >> 31) & 1 else -1.0
            feats[idx] = feats.get(idx, 0.0) + sign * weight

        terms = [stem(w) for w in words(text) if w not in STOPWORDS]
        for term in terms:
            add("w:" + term, self.WORD_WEIGHT)
            if len(term) > 3:
                padded = f"<{term}>"
                for i in range(len(padded) - 2):
                    add("c:" + padded[i : i + 3], self.TRIGRAM_WEIGHT)
        for a, b in itertools.pairwise(terms):
            add(f"b:{a} {b}", self.BIGRAM_WEIGHT)
        return feats

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for idx, value in self._features(text).items():
                out[row, idx] = value
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        empty = norms[:, 0] == 0
        if empty.any():  # a text with no content words still needs a valid (non-zero) vector
            out[empty, 0] = 1.0
        return out


class BedrockEmbedder:
    def __init__(self, settings: Settings, client: Any = None) -> None:
        import boto3

        self.dim = settings.embed_dim
        self.model_id = settings.bedrock_embed_model
        self.client = client or boto3.client("bedrock-runtime", region_name=settings.aws_region)

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            body = json.dumps({"inputText": text[:50_000], "dimensions": self.dim, "normalize": True})
            try:
                resp = self.client.invoke_model(modelId=self.model_id, body=body)
            except Exception as exc:  # botocore raises many shapes; all mean "not available now"
                raise DependencyUnavailable("the embedding service (Bedrock) is unavailable") from exc
            rows.append(json.loads(resp["body"].read())["embedding"])
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder:
    def __init__(self, settings: Settings) -> None:
        from sentence_transformers import SentenceTransformer

        self.dim = settings.embed_dim
        self.model = SentenceTransformer(settings.st_model)

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings`` name (``embedder`` and ``embed_dim``)."""
    if settings.embedder == "bedrock":
        return BedrockEmbedder(settings)
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(settings)
    if settings.embedder == "static":
        from memos.embeddings.static import StaticEmbedder  # numpy only; loads data/static_minilm.npz once

        return StaticEmbedder(settings.embed_dim)  # 384 pads the native 256 with zeros
    return HashingEmbedder(settings.embed_dim)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The configured embedder (``MEMOS_EMBEDDER``, ``MEMOS_EMBED_DIM``). Code that reads or writes
    ``memories.embedding`` takes ``memos.embeddings.space.active(conn)`` instead: during and after a
    dimension change the stored vectors may belong to another one."""
    return make_embedder(get_settings())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom and not math.isnan(denom) else 0.0
