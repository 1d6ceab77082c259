"""Per-namespace policy: the documented defaults live here and nowhere else.

A namespace stores only its overrides (``policies.settings``); reads merge them over these defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DecayKind = Literal["episodic", "semantic", "procedural"]


class RetrievalWeights(BaseModel):
    """Weights of the score's components (each in [0, 1]); formula in docs/RETRIEVAL.md."""

    model_config = ConfigDict(extra="forbid")

    vector: float = Field(0.50, ge=0, le=5)
    lexical: float = Field(0.50, ge=0, le=5)
    recency: float = Field(0.05, ge=0, le=5)
    importance: float = Field(0.10, ge=0, le=5)
    entity: float = Field(0.05, ge=0, le=5)
    session: float = Field(0.05, ge=0, le=5, description="applies when the query names a session")
    temporal: float = Field(1.0, ge=0, le=5, description="applies when the query names a time")


class KindTTL(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episodic: int | None = Field(None, ge=1, description="days; null = never expires")
    semantic: int | None = Field(None, ge=1)
    procedural: int | None = Field(None, ge=1)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    l1_window_size: int = Field(20, ge=1, le=500, description="turns kept in a session's L1 window")
    l1_ttl_seconds: int = Field(86_400, ge=60, le=30 * 86_400)
    condense_after_turns: int = Field(20, ge=2, le=10_000)
    condense_after_tokens: int = Field(2_000, ge=100, le=1_000_000)
    dedup_threshold: float = Field(0.95, ge=0.5, le=1.0, description="cosine similarity for near-duplicates")
    conflict_mode: Literal["supersede", "keep_both"] = "supersede"
    decay_half_life_days: float = Field(30.0, gt=0, le=3650)
    recency_half_life_days: float = Field(
        30.0, gt=0, le=3650, description="ranking: age behind the newest candidate"
    )
    min_importance: float = Field(0.05, ge=0, le=1, description="decayed importance below this expires")
    decay_kinds: list[DecayKind] = Field(
        default_factory=lambda: list[DecayKind](["episodic"]),
        description="kinds whose importance decays (facts and procedures keep)",
    )
    ttl_days: KindTTL = Field(default_factory=KindTTL)
    ttl_from: Literal["occurred_at", "ingested_at"] = Field(
        "occurred_at", description="what a TTL counts from: the event time or the ingestion time"
    )
    audit_reads: bool = Field(True, description="query, answer and export write access-audit events")
    pii_redaction: bool = False
    default_token_budget: int = Field(1500, ge=50, le=32_000)
    min_score: float = Field(
        0.1,
        ge=0,
        le=1,
        description="results scoring below this (absolute, see docs/RETRIEVAL.md) are filtered",
    )
    weights: RetrievalWeights = Field(default_factory=RetrievalWeights)


DEFAULT_POLICY = Policy()


def merge(overrides: dict) -> Policy:
    """Defaults with a namespace's stored overrides on top (nested objects merge key by key)."""
    base = DEFAULT_POLICY.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Policy.model_validate(base)
