"""Ingest throughput and latency, in process (``memos.memory.ingest.ingest``) and over HTTP (``POST /v1/ingest``).

    python bench/bench_ingest.py [--quick | --full] [--batches N] [--singles N] [--ns-rows N]

Batches of 500 items into one namespace (50 sessions), then single-item ingests. The in-process
batch run is instrumented: the embedder call, the memories INSERT, and the other steps are timed
separately; the first batches go into a new namespace (exact vector search, no ANN index), then the
namespaces get their own HNSW index (``memos.retrieval.ann.maintain``, what the decay job does past
``MEMOS_ANN_MIN_MEMORIES``) and as many batches again go into one of them, so the share of the index
in the insert cost is measured, not guessed. With ``--ns-rows N``, as many batches again go over HTTP
into a namespace bulk-loaded with N memories and its HNSW index (the SPEC's 100k namespace).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench_common import (
    Http,
    TextSource,
    local_stack,
    machine,
    pct,
    set_nodelay,
    table,
    write_result,
)

BATCH = 500


class Phases:
    """Accumulated wall time of wrapped functions (a profiler with a handful of named probes);
    ``clock=time.thread_time``: their CPU time instead (waits for PostgreSQL and other processes'
    turns on the CPUs left out, so a shared machine's load moves it less)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.clock = clock

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += self.clock() - t

        return timed


def instrument(phases: Phases) -> Callable[[], None]:
    """Wrap the steps of memos.memory.ingest.ingest; returns a function that undoes it."""
    from memos.governance import entities
    from memos.memory import ingest
    from memos.store import audit

    # The embedder of the stored vectors: guessed before the transaction, checked in its first reads.
    active_and, expected = ingest.space.active_and, ingest.space.expected

    class TimedEmbedder:
        def __init__(self, embedder: Any) -> None:
            self.dim, self._embedder = embedder.dim, embedder

        def embed(self, texts: list[str]) -> Any:
            return phases.wrap("embed", self._embedder.embed)(texts)

    timed_embedders: dict[int, TimedEmbedder] = {}  # one per embedder (ingest compares them)

    def timed_embedder(embedder: Any) -> TimedEmbedder:
        return timed_embedders.setdefault(id(embedder), TimedEmbedder(embedder))

    class TimedSpace:
        @staticmethod
        def expected() -> Any:
            return timed_embedder(expected())

        @staticmethod
        def active_and(conn: Any, send: Any) -> Any:  # with the dedup, conflict and near-duplicate reads
            embedder, more = phases.wrap("first_reads", active_and)(conn, send)
            return timed_embedder(embedder), more

    patches: list[tuple[Any, str, Any]] = [
        (ingest, "space", TimedSpace),
        (ingest, "_number_and_insert", None),  # the turn reservation and the INSERT: one round trip
        (ingest, "_mark_near_duplicates", None),
        (ingest, "record_found_terms", None),
        (entities, "extract_all", None),
        (entities, "record_mentions", None),
        (audit, "record_many", None),
        (ingest, "_push_l1", None),
        (ingest, "due_job", None),
        (ingest, "record_jobs", None),
        (ingest, "send_after_response", None),
    ]
    saved = []
    for mod, name, replacement in patches:
        original = getattr(mod, name)
        saved.append((mod, name, original))
        label = {
            "due_job": "condensation_check",
            "record_jobs": "condensation_outbox",
            "send_after_response": "sqs_handoff",
            "record_found_terms": "record_terms",
        }.get(name, name.lstrip("_"))
        setattr(mod, name, replacement or phases.wrap(label, original))

    def undo() -> None:
        for mod, name, original in saved:
            setattr(mod, name, original)

    return undo


def batch_in_process(namespace: str, batches: list[list[dict[str, Any]]]) -> tuple[float, Phases]:
    from memos.governance import trigger
    from memos.memory.ingest import ingest
    from memos.models import IngestItem

    parsed = [[IngestItem.model_validate(i) for i in b] for b in batches]
    phases = Phases()
    undo = instrument(phases)
    try:
        t = time.perf_counter()
        for items in parsed:
            ingest(namespace, items, actor="bench")
        trigger.flush()  # the condensation jobs sent in the background count too
        return time.perf_counter() - t, phases
    finally:
        undo()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (the default)")
    ap.add_argument("--full", action="store_true", help="larger sizes")
    ap.add_argument("--batches", type=int, help="batches of 500 per run")
    ap.add_argument("--singles", type=int, help="single-item ingests per path")
    ap.add_argument(
        "--ns-rows",
        type=int,
        default=0,
        help="also: batches over HTTP into a namespace bulk-loaded with this many memories (and its HNSW index)",
    )
    args = ap.parse_args(argv)
    mode = ("full" if args.full else "quick") + (f"-ns{args.ns_rows // 1000}k" if args.ns_rows else "")
    n_batches = args.batches or (20 if args.full else 6)
    n_singles = args.singles or (500 if args.full else 200)
    started = machine()
    texts = TextSource(seed=11)
    out: dict[str, Any] = {"batch_size": BATCH, "batches": n_batches}
    from memos.models import IngestItem

    with local_stack() as stack:
        from memos.governance import trigger

        http = Http(stack.url, stack.api_key or "")
        # Warm up both paths (imports, pools, prepared statements) outside the measurement.
        from memos.memory.ingest import ingest

        ingest("bench-warm", [IngestItem.model_validate(i) for i in texts.items(20, 2)])
        http.post("/v1/ingest", {"namespace": "bench-warm", "items": texts.items(20, 2)})

        rows = []
        # 1. in process, batches of 500 into a new namespace (exact vector search: no ANN index yet)
        batches = [texts.items(BATCH, 50) for _ in range(n_batches)]
        secs, phases = batch_in_process("bench-batch-inproc", batches)
        n = BATCH * n_batches
        out["batch_in_process"] = {"memories": n, "seconds": round(secs, 3), "per_s": round(n / secs, 1)}
        out["batch_in_process_phases_s"] = {k: round(v, 3) for k, v in sorted(phases.seconds.items())}
        rows.append(("batch, in process (no ANN index)", n, secs, n / secs))

        # 2. over HTTP, same shape
        batches = [texts.items(BATCH, 50) for _ in range(n_batches)]
        t = time.perf_counter()
        for b in batches:
            status, body = http.post("/v1/ingest", {"namespace": "bench-batch-http", "items": b})
            assert status == 200, (status, body)
        trigger.flush()  # the local server runs in this process: its background sends count too
        secs = time.perf_counter() - t
        out["batch_http"] = {"memories": n, "seconds": round(secs, 3), "per_s": round(n / secs, 1)}
        rows.append(("batch, HTTP (no ANN index)", n, secs, n / secs))

        # 3. in process into a namespace with its own HNSW index (what a namespace past
        # MEMOS_ANN_MIN_MEMORIES gets from the decay job): what the index costs per insert
        from memos.retrieval import ann

        t = time.perf_counter()
        ann.maintain(min_memories=BATCH)  # the namespaces of steps 1 and 2 now have their index
        out["ann_build_s"] = round(time.perf_counter() - t, 2)
        batches = [texts.items(BATCH, 50) for _ in range(n_batches)]
        secs_no, phases_no = batch_in_process("bench-batch-inproc", batches)
        out["batch_in_process_with_namespace_hnsw"] = {
            "memories": n,
            "seconds": round(secs_no, 3),
            "per_s": round(n / secs_no, 1),
        }
        out["batch_in_process_with_namespace_hnsw_phases_s"] = {
            k: round(v, 3) for k, v in sorted(phases_no.seconds.items())
        }
        rows.append(("batch, in process (namespace with its HNSW index)", n, secs_no, n / secs_no))

        print(f"\nBatch ingest ({n_batches} batches of {BATCH}, 50 sessions, fresh store)")
        table(("path", "memories", "seconds", "memories/s"), rows)
        print("\nwhere the in-process batch time goes (seconds, no ANN index vs the namespace's index):")
        keys = sorted(set(phases.seconds) | set(phases_no.seconds), key=lambda k: -phases.seconds.get(k, 0))
        table(
            ("step", "no ANN index", "namespace HNSW"),
            [(k, phases.seconds.get(k, 0.0), phases_no.seconds.get(k, 0.0)) for k in keys]
            + [
                ("(total)", out["batch_in_process"]["seconds"], secs_no),
                (
                    "(rest: planning, pydantic, commit)",
                    out["batch_in_process"]["seconds"] - sum(phases.seconds.values()),
                    secs_no - sum(phases_no.seconds.values()),
                ),
            ],
        )

        if args.ns_rows:  # the SPEC's shape: a large namespace that has its own HNSW index
            from bench_common import admin_conn, bulk_load

            with admin_conn() as conn:
                out["large_namespace_load_s"] = bulk_load(
                    conn, {"bench-large": args.ns_rows}, TextSource(seed=13)
                )
            batches = [texts.items(BATCH, 50) for _ in range(n_batches)]
            http.close()  # idle through the load: the server has closed the keep-alive connection
            http = Http(stack.url, stack.api_key or "")
            http.post("/v1/ingest", {"namespace": "bench-warm", "items": texts.items(2, 1)})
            t = time.perf_counter()
            for b in batches:
                status, body = http.post("/v1/ingest", {"namespace": "bench-large", "items": b})
                assert status == 200, (status, body)
            trigger.flush()
            secs_large = time.perf_counter() - t
            out["batch_http_large_namespace"] = {
                "namespace_rows": args.ns_rows,
                "memories": n,
                "seconds": round(secs_large, 3),
                "per_s": round(n / secs_large, 1),
            }
            print(f"\nbatch over HTTP into a namespace of {args.ns_rows:,} memories with its HNSW index:")
            table(("memories", "seconds", "memories/s"), [(n, secs_large, n / secs_large)])

        # 4. single-item ingests
        singles = texts.items(n_singles, 20)
        from memos.memory.ingest import ingest as ingest_fn

        lat_in: list[float] = []
        for item in singles:
            parsed = [IngestItem.model_validate(item)]
            t = time.perf_counter()
            ingest_fn("bench-single-inproc", parsed, actor="bench")
            lat_in.append(time.perf_counter() - t)
        out["single_in_process"] = pct(lat_in)
        http.close()
        for label, nodelay in (("single_http", False), ("single_http_nodelay", True)):
            set_nodelay(stack, nodelay)
            http = Http(stack.url, stack.api_key or "")
            lat_http: list[float] = []
            for item in texts.items(n_singles, 20):
                body = {"namespace": "bench-" + label.replace("_", "-"), **item}
                t = time.perf_counter()
                status, resp = http.post("/v1/ingest", body)
                lat_http.append(time.perf_counter() - t)
                assert status == 200, (status, resp)
            http.close()
            out[label] = pct(lat_http)
        print(f"\nSingle ingest ({n_singles} each, 20 sessions)")
        table(
            ("path", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms"),
            [
                (name, r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_ms"])
                for name, r in (
                    ("in process", out["single_in_process"]),
                    ("HTTP, Nagle's algorithm on (for comparison)", out["single_http"]),
                    ("HTTP (local server as shipped, TCP_NODELAY)", out["single_http_nodelay"]),
                )
            ],
        )
    write_result("ingest", mode, out, started)
    return out


if __name__ == "__main__":
    main()
