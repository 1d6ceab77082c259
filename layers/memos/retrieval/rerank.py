"""Optional reranking of the best candidates by a cross-encoder, behind one interface (off by default).

A reranker reads the question and each candidate's text together and says how relevant the text is,
in [0, 1]; the embedders (``memos.embeddings``) only compare two vectors made apart. It is slower
and costs a call, so it reads only the best ``rerank_depth`` candidates the fused score already
ranked at or above ``min_score``, and its relevance is blended into their score:

    score' = (1 − rerank_weight) · score + rerank_weight · rerank        (component ``rerank``)

so a score stays on the same absolute scale. Choose it with ``MEMOS_RERANKER``:

- ``none`` (default): no reranking.
- ``bedrock``: the Bedrock Rerank API (``bedrock-agent-runtime`` ``Rerank``) with
  ``MEMOS_BEDROCK_RERANK_MODEL`` (``amazon.rerank-v1:0``; ``cohere.rerank-v3-5:0`` also works; a
  full model ARN is taken as it is). Its ``relevanceScore`` is already in [0, 1].

If the reranker fails, the query is answered with the fused ranking and the failure is logged
and counted (metric ``RerankFailed``): reranking is an improvement, never a dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from memos.kernel.config import Settings, get_settings
from memos.kernel.observability import logger, metrics
from memos.kernel.text import indexed_text
from memos.retrieval.scoring import Candidate
from memos.store.candidates import metadata_of

MAX_TEXT_CHARS = 4_000  # per document and for the query: a memory is short, a runaway one is cut


class Reranker(Protocol):
    name: str

    def relevance(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance in [0, 1] per text, in the texts' order."""
        ...


class BedrockReranker:
    """The Bedrock Rerank API (``bedrock-agent-runtime``): one call per query for all its texts."""

    name = "bedrock"

    def __init__(self, settings: Settings, client: Any = None) -> None:
        import boto3

        model = settings.bedrock_rerank_model
        self.model_arn = (
            model
            if model.startswith("arn:")
            else f"arn:aws:bedrock:{settings.aws_region}::foundation-model/{model}"
        )
        self.client = client or boto3.client("bedrock-agent-runtime", region_name=settings.aws_region)

    def relevance(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        resp = self.client.rerank(
            queries=[{"type": "TEXT", "textQuery": {"text": query[:MAX_TEXT_CHARS]}}],
            sources=[
                {
                    "type": "INLINE",
                    "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": t[:MAX_TEXT_CHARS]}},
                }
                for t in texts
            ],
            rerankingConfiguration={
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "numberOfResults": len(texts),
                    "modelConfiguration": {"modelArn": self.model_arn},
                },
            },
        )
        out = [0.0] * len(texts)
        for r in resp["results"]:
            i = int(r["index"])
            if 0 <= i < len(texts):
                out[i] = min(1.0, max(0.0, float(r["relevanceScore"])))
        return out


def make_reranker(settings: Settings) -> Reranker | None:
    """The reranker ``settings`` name (``reranker``), or None when reranking is off."""
    if settings.reranker == "bedrock":
        return BedrockReranker(settings)
    return None


@lru_cache(maxsize=1)
def get_reranker() -> Reranker | None:
    """The configured reranker (``MEMOS_RERANKER``), made once per process."""
    return make_reranker(get_settings())


def rerank(
    query: str, ranked: list[Candidate], reranker: Reranker, *, depth: int, weight: float, min_score: float
) -> bool:
    """Blend the reranker's relevance into the best ``depth`` candidates of ``ranked`` (sorted, best
    first) that score at least ``min_score``, and sort again. False (nothing changed) when the
    reranker failed."""
    top = [c for c in ranked[:depth] if c.score >= min_score]
    if not top:
        return True
    try:
        found = reranker.relevance(query, [indexed_text(c.row["text"], metadata_of(c.row)) for c in top])
    except Exception:  # botocore raises many shapes; all mean "not available now": keep the fused order
        logger.warning("reranker failed; answering with the fused ranking", extra={"reranker": reranker.name})
        metrics.add_metric(name="RerankFailed", unit="Count", value=1)
        return False
    for c, relevance in zip(top, found, strict=True):
        c.components["rerank"] = round(relevance, 4)
        c.score = round((1 - weight) * c.score + weight * relevance, 4)
    ranked.sort(key=lambda c: (-c.score, str(c.id)))
    return True
