"""Ingest in process, short enough to run on two checkouts in turn (A/B at the same machine load).

    python bench/bench_ingest_ab.py LABEL      # e.g. PYTHONPATH=<old>/layers:<old> python ... old

300 single-item ingests into 20 sessions (after 30 to warm up), then 4 batches of 500 into 50
sessions, into a fresh local stack. Prints one line: label, single-ingest percentiles, batch
memories/s and the load average. Uses only ``memos.memory.ingest.ingest`` and the models, so an
older checkout runs it unchanged.
"""

from __future__ import annotations

import os
import sys
import time

from bench_common import TextSource, local_stack, pct


def main(label: str) -> None:
    texts = TextSource(seed=11)
    with local_stack():
        from memos.memory.ingest import ingest
        from memos.models import IngestItem

        ingest("warm", [IngestItem.model_validate(i) for i in texts.items(20, 2)])
        for item in texts.items(30, 20):
            ingest("single", [IngestItem.model_validate(item)], actor="bench")
        singles = [[IngestItem.model_validate(i)] for i in texts.items(300, 20)]
        lat = []
        for one in singles:
            t = time.perf_counter()
            ingest("single", one, actor="bench")
            lat.append(time.perf_counter() - t)
        batches = [[IngestItem.model_validate(i) for i in texts.items(500, 50)] for _ in range(4)]
        t = time.perf_counter()
        for b in batches:
            ingest("batch", b, actor="bench")
        from memos.governance import trigger

        if hasattr(trigger, "flush"):  # condensation jobs sent after the response count too
            trigger.flush()
        secs = time.perf_counter() - t
    print(label, "single", pct(lat), "batch/s", round(2000 / secs, 1), "load", os.getloadavg())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "this")
