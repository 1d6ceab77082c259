"""Plain baselines for the eval harness, each over one conversation's turns (as MemOS is per namespace).

- ``BM25Index``: Okapi BM25 (k1=1.2, b=0.75) over lowercase words without stopwords; no stemming.
- ``VectorIndex``: cosine similarity over the vectors of the configured embedder (``MEMOS_EMBEDDER``,
  the same one MemOS uses), without lexical, recency or importance signals.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from memos.embeddings import Embedder, get_embedder
from memos.kernel.text import STOPWORDS

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]


class BM25Index:
    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(tokenize(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        n = len(self.docs)
        self.avgdl = (sum(self.lengths) / n) if n else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        # Okapi idf with the +1 inside the log (Lucene's variant): never negative for common terms.
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def scores(self, query: str) -> list[float]:
        terms = [t for t in tokenize(query) if t in self.idf]
        out = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl) if self.avgdl else self.k1
            s = 0.0
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    s += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            out.append(s)
        return out

    def search(self, query: str, top_k: int) -> list[int]:
        """Indexes of the top_k documents with a positive score, best first (ties: earlier first)."""
        scores = self.scores(query)
        ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
        return ranked[:top_k]


class VectorIndex:
    def __init__(self, texts: Sequence[str], embedder: Embedder | None = None) -> None:
        self.embedder = embedder or get_embedder()
        dim = self.embedder.dim
        self.matrix = self.embedder.embed(list(texts)) if texts else np.zeros((0, dim), dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        q = self.embedder.embed([query])[0]
        return self.matrix @ q  # rows and query are L2-normalised: dot product = cosine

    def search(self, query: str, top_k: int) -> list[int]:
        if not len(self.matrix):
            return []
        scores = self.scores(query)
        order = np.lexsort((np.arange(len(scores)), -scores))  # by score desc, then index
        return [int(i) for i in order[:top_k]]
