"""Per-environment settings for the CDK app: one frozen dataclass per environment.

Select with ``cdk synth -c env=staging`` (default ``dev``). Everything that differs between
environments lives here, so the constructs read one object and hold no environment logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs


@dataclass(frozen=True)
class EnvConfig:
    name: str
    # Network
    max_azs: int
    # Aurora PostgreSQL Serverless v2 (ACU = Aurora capacity units)
    aurora_min_acu: float
    aurora_max_acu: float
    aurora_readers: int
    backup_retention_days: int
    deletion_protection: bool
    secret_rotation_days: int
    # ElastiCache Serverless (Valkey)
    cache_max_storage_gb: int
    cache_max_ecpu_per_second: int
    cache_snapshot_retention_days: int
    # Lambda and API
    log_retention: logs.RetentionDays
    log_level: str
    api_throttle_rate: float
    api_throttle_burst: int
    waf_enabled: bool
    # Pipeline and schedule
    condense_max_receive_count: int
    condense_batch_size: int
    decay_rate_minutes: int
    # Alarms
    api_p95_latency_ms: int
    alarm_email: str | None
    # Stateful resources: what happens to them when the stack (or resource) is deleted
    removal_policy: RemovalPolicy
    database_removal_policy: RemovalPolicy
    # Embeddings (see layers/memos/kernel/config.py): the static embedder, whose data ships in the layer,
    # is the one docs/EVALUATION.md and docs/BENCHMARKS.md measure. "bedrock" (Titan v2, 256/512/1024
    # dims) is the alternative; changing either on a live store needs `memos reembed` (docs/OPS.md).
    embedder: str = "static"
    embed_dim: int = 256
    # Optional reranking of the best candidates (memos.retrieval.rerank): "none" or "bedrock" (the
    # Bedrock Rerank API; the query functions get bedrock:Rerank and InvokeModel on the model).
    reranker: str = "none"
    bedrock_rerank_model: str = "amazon.rerank-v1:0"
    # Per API key (a Redis token bucket checked by every API function, as locally): requests per
    # second and burst. The stage throttle (api_throttle_*) caps the sum of all keys.
    key_rate_limit_rps: float = 20
    key_rate_limit_burst: int = 40

    @property
    def stack_name(self) -> str:
        return f"MemOS-{self.name}"

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"


_DEV = EnvConfig(
    name="dev",
    max_azs=2,
    aurora_min_acu=0.5,
    aurora_max_acu=4,
    aurora_readers=0,
    backup_retention_days=1,
    deletion_protection=False,
    secret_rotation_days=30,
    cache_max_storage_gb=1,
    cache_max_ecpu_per_second=5000,
    cache_snapshot_retention_days=0,
    log_retention=logs.RetentionDays.ONE_WEEK,
    log_level="DEBUG",
    api_throttle_rate=50,
    api_throttle_burst=100,
    waf_enabled=False,
    condense_max_receive_count=5,
    condense_batch_size=10,
    decay_rate_minutes=60,
    api_p95_latency_ms=1000,
    alarm_email=None,
    removal_policy=RemovalPolicy.DESTROY,
    database_removal_policy=RemovalPolicy.DESTROY,
)

_STAGING = EnvConfig(
    name="staging",
    max_azs=2,
    aurora_min_acu=0.5,
    aurora_max_acu=8,
    aurora_readers=0,
    backup_retention_days=7,
    deletion_protection=False,
    secret_rotation_days=30,
    cache_max_storage_gb=5,
    cache_max_ecpu_per_second=20000,
    cache_snapshot_retention_days=1,
    log_retention=logs.RetentionDays.ONE_MONTH,
    log_level="INFO",
    api_throttle_rate=200,
    api_throttle_burst=400,
    waf_enabled=False,
    condense_max_receive_count=5,
    condense_batch_size=10,
    decay_rate_minutes=30,
    api_p95_latency_ms=500,
    alarm_email=None,
    removal_policy=RemovalPolicy.DESTROY,
    database_removal_policy=RemovalPolicy.SNAPSHOT,
)

_PROD = EnvConfig(
    name="prod",
    max_azs=3,
    aurora_min_acu=1,
    aurora_max_acu=32,
    aurora_readers=1,
    backup_retention_days=30,
    deletion_protection=True,
    secret_rotation_days=30,
    cache_max_storage_gb=20,
    cache_max_ecpu_per_second=100000,
    cache_snapshot_retention_days=7,
    log_retention=logs.RetentionDays.THREE_MONTHS,
    log_level="INFO",
    api_throttle_rate=1000,
    api_throttle_burst=2000,
    waf_enabled=True,
    condense_max_receive_count=5,
    condense_batch_size=10,
    decay_rate_minutes=15,
    api_p95_latency_ms=300,
    alarm_email=None,
    removal_policy=RemovalPolicy.RETAIN,
    database_removal_policy=RemovalPolicy.SNAPSHOT,
)

ENVIRONMENTS: dict[str, EnvConfig] = {c.name: c for c in (_DEV, _STAGING, _PROD)}
DEFAULT_ENV = "dev"


def get_config(name: str | None) -> EnvConfig:
    key = name or DEFAULT_ENV
    if key not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {key!r}; choose one of {sorted(ENVIRONMENTS)}")
    return ENVIRONMENTS[key]
