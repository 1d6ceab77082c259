"""Logger and Metrics: created once here, imported everywhere.

No X-Ray SDK Tracer: it costs ~400 ms of imports at cold start. Lambda active tracing (set by
the infra stack) still records every invocation and its AWS calls' latency at the function level.
"""

from __future__ import annotations

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

# A request that adds no metric (a read) is normal here, not something to warn about.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="memos")


class _Metrics(Metrics):
    """Powertools 3.37 prints a full buffer of 100 metrics to stdout even when metrics are disabled
    (local runs, benchmarks); a disabled process records none."""

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        if not is_metrics_disabled():
            super().add_metric(*args, **kwargs)


metrics = _Metrics(namespace="MemOS", service="memos")
