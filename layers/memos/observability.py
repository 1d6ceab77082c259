"""Logger and Metrics: created once here, imported everywhere.

No X-Ray SDK Tracer: it costs ~400 ms of imports at cold start. Lambda active tracing (set by
the infra stack) still records every invocation and its AWS calls' latency at the function level.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# A request that adds no metric (a read) is normal here, not something to warn about.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="memos")
metrics = Metrics(namespace="MemOS", service="memos")
