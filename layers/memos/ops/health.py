"""Liveness and dependency status with measured latency."""

from __future__ import annotations

import time
from typing import Any

from memos import __version__
from memos.kernel.config import get_settings
from memos.models import DependencyStatus, HealthResponse
from memos.store import ops as store_ops
from memos.working_memory import WorkingMemory


def probe(check: Any) -> DependencyStatus:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means "down"; the reason is shown, never a trace
        return DependencyStatus(status="down", detail=type(exc).__name__)
    return DependencyStatus(status="ok", latency_ms=round((time.perf_counter() - start) * 1000, 3))


def _queue() -> None:
    from memos.governance.trigger import sqs_client

    sqs_client().get_queue_attributes(
        QueueUrl=get_settings().condense_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )


def health() -> HealthResponse:
    deps = {"postgres": probe(store_ops.ping), "redis": probe(lambda: WorkingMemory().client.ping())}
    if get_settings().condense_queue_url:
        deps["queue"] = probe(_queue)
    ok = all(d.status == "ok" for d in deps.values())
    return HealthResponse(status="ok" if ok else "degraded", version=__version__, dependencies=deps)
