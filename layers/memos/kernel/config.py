"""Settings: one pydantic model, read from ``MEMOS_*`` env vars and validated once at cold start.

A plain ``BaseModel`` fed from the environment (not pydantic-settings, whose import alone costs
tens of milliseconds of every cold start): names are matched case-insensitively after the prefix
and values are strings that pydantic's lax mode converts ("true", "256", "0.5").

Secrets (the database password) come from Secrets Manager in the cloud via Powertools
Parameters (``MEMOS_DATABASE_SECRET_ARN``); locally the URL comes from the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ENV_PREFIX = "MEMOS_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    env: Literal["local", "test", "dev", "staging", "prod"] = "local"

    # L2/L3: PostgreSQL + pgvector. Either a URL (local, tests) or a Secrets Manager secret in
    # the RDS JSON shape (host, port, username, password, dbname); ``database_host`` overrides
    # the secret's host (the RDS Proxy endpoint).
    database_url: str | None = None
    database_secret_arn: str | None = None
    database_host: str | None = None
    database_name: str = "memos"
    db_pool_max: int = Field(default=4, ge=1, le=64)
    db_connect_timeout_s: float = Field(default=3.0, gt=0)

    # L1: Redis / Valkey. ``redis_cluster`` for ElastiCache Serverless (cluster mode, TLS).
    redis_url: str | None = None
    redis_cluster: bool = False
    redis_timeout_s: float = Field(default=1.0, gt=0)

    # Condensation queue (SQS). ``aws_endpoint_url`` points boto3 at moto locally.
    condense_queue_url: str | None = None
    condense_dlq_url: str | None = None
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"

    # Embeddings: ``hashing`` needs nothing; ``bedrock`` calls Titan; ``sentence-transformers``
    # loads a local model (extra ``local-embed``).
    embedder: Literal["static", "hashing", "bedrock", "sentence-transformers"] = "static"
    embed_dim: int = Field(default=256, ge=16, le=4096)
    bedrock_embed_model: str = "amazon.titan-embed-text-v2:0"
    st_model: str = "all-MiniLM-L6-v2"

    # Vector search: exact distance in namespaces below this many live memories, a per-namespace
    # HNSW index (built in the background by the decay job) from here on (docs/RETRIEVAL.md).
    ann_min_memories: int = Field(default=2_000, ge=100)

    # Reranking of the best fused candidates by a cross-encoder: off by default; "bedrock" calls the
    # Bedrock Rerank API (memos.retrieval.rerank, docs/RETRIEVAL.md).
    reranker: Literal["none", "bedrock"] = "none"
    bedrock_rerank_model: str = "amazon.rerank-v1:0"
    rerank_depth: int = Field(default=20, ge=1, le=100)
    rerank_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    # Answers: extractive (no LLM) by default; Bedrock Converse when set to "bedrock".
    answer_mode: Literal["extractive", "bedrock"] = "extractive"
    bedrock_chat_model: str = "anthropic.claude-3-haiku-20240307-v1:0"

    # Session summaries: rule-based by default; "bedrock" uses the Converse API with this model.
    summarizer: Literal["rules", "bedrock"] = "rules"
    bedrock_summary_model: str = "amazon.nova-lite-v1:0"

    # Rate limits per API key: a Redis token bucket every API function checks, locally and in AWS
    # (functions/shared/limits.py); CDK sets both per environment (infra/config.py).
    rate_limit_rps: float = Field(default=50.0, ge=0, description="0 turns the per-key limiter off")
    rate_limit_burst: int = Field(default=100, ge=1)

    # The hosted console's origin (https://<cloudfront domain>): API responses allow it by CORS.
    cors_allow_origin: str | None = None

    # Request limits (SPEC §2).
    max_body_bytes: int = 1024 * 1024
    max_batch_items: int = 500
    max_text_chars: int = 20_000

    @model_validator(mode="after")
    def _check_embed_dim(self) -> Settings:
        if self.embedder == "bedrock" and self.embed_dim not in (256, 512, 1024):
            raise ValueError("Titan v2 embeddings support MEMOS_EMBED_DIM of 256, 512 or 1024")
        if self.embedder == "sentence-transformers" and self.embed_dim != 384:
            raise ValueError("all-MiniLM-L6-v2 gives 384 dimensions: set MEMOS_EMBED_DIM=384")
        return self


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``MEMOS_*`` variables (``os.environ`` by default); unset ones keep defaults."""
    env = os.environ if environ is None else environ
    values = {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in env.items()
        if name.upper().startswith(ENV_PREFIX)
    }
    return Settings.model_validate({k: v for k, v in values.items() if k in Settings.model_fields})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environment()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
