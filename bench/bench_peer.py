"""Side by side with a peer: MemOS vs mem0 (``infer=False``) on the same PostgreSQL + pgvector.

    python bench/bench_peer.py [--quick | --full] [--fresh] [--memories N] [--queries Q] [--peer-python PATH]

mem0 is not a project dependency: it runs from its own virtualenv (default ``/tmp/mem0venv``,
created with ``python3.11 -m venv /tmp/mem0venv && /tmp/mem0venv/bin/pip install mem0ai
psycopg[binary] psycopg-pool pgvector numpy``), in a subprocess, against the local stack's
embedded PostgreSQL (its own table in the same database). Both sides use the same embedder:
MemOS's static embedder (``layers/memos/embeddings/static.py``, numpy only), plugged into mem0 in
place of its OpenAI embedder, so neither side calls a model or the network. mem0 gets no LLM call
(``infer=False`` stores messages as given); a dummy OpenAI key only satisfies its constructor.

Measured on each side, in process: adding N messages in calls of 20 (mem0 ``add(messages)``,
MemOS ``ingest`` of 20 items), single adds (p50/p95), and searches (mem0 ``search(top_k=8)``,
MemOS ``retrieval.query(top_k=8)``); the ratio is MemOS time / mem0 time (below 1: MemOS faster).
The loads in calls of 20 run one side after the other; the single adds and the searches alternate
one by one (the mem0 worker waits for each on its stdin; which side goes first alternates too), so
a shared machine's load falls on both sides of those ratios alike. After its load MemOS's ``memories`` table is
analysed, as autovacuum does within a minute (``--fresh``: not, the store in that first minute).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHUNK = 20
PROTOCOL = "@@peer "


def _pct(samples: list[float]) -> dict[str, float]:
    s = sorted(x * 1000 for x in samples)
    return {
        "n": len(s),
        "p50_ms": round(s[len(s) // 2], 3),
        "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 3),
        "mean_ms": round(sum(s) / len(s), 3),
    }


def mem0_worker(db_url: str, workload: dict[str, Any]) -> dict[str, Any]:
    """Runs inside the mem0 virtualenv: no memos imports except the static embedder file."""
    import importlib.util

    os.environ.setdefault("MEM0_TELEMETRY", "False")
    os.environ.setdefault("OPENAI_API_KEY", "sk-not-used")

    def load(name: str, rel: str) -> Any:
        spec = importlib.util.spec_from_file_location(name, ROOT / rel)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    # The static embedder and its calibration table (numpy only; the rest of memos is not installed here).
    load("memos.embeddings.calibration", "layers/memos/embeddings/calibration.py")
    se = load("static_embedder", "layers/memos/embeddings/static.py")
    static = se.StaticEmbedder(workload["dim"])

    from mem0 import Memory

    class StaticMem0Embedder:
        def embed(self, text: Any, memory_action: Any = None) -> list[float]:
            return static.embed([text])[0].tolist()

    config = {
        "vector_store": {
            "provider": "pgvector",
            "config": {
                "connection_string": db_url,
                "collection_name": "mem0_bench",
                "embedding_model_dims": workload["dim"],
                "hnsw": True,
            },
        },
        "history_db_path": str(Path(workload["tmp"]) / "mem0_history.db"),
    }
    m = Memory.from_config(config)
    m.embedding_model = StaticMem0Embedder()
    user = "peer-user"
    out: dict[str, Any] = {
        "mem0_version": __import__("mem0").__version__ if hasattr(__import__("mem0"), "__version__") else "?"
    }
    msgs = workload["messages"]
    t = time.perf_counter()
    for lo in range(0, len(msgs), CHUNK):
        m.add(msgs[lo : lo + CHUNK], user_id=user, infer=False)
    out["bulk_s"] = time.perf_counter() - t
    # Single adds and searches alternate with MemOS's, one at a time (the parent sends an add or a
    # query, gets its time): load on the shared machine falls on both sides alike.
    _say(out)
    for line in sys.stdin:
        op = json.loads(line)
        if op == "count":
            import psycopg

            with psycopg.connect(db_url) as conn:
                row = conn.execute("SELECT count(*) FROM mem0_bench").fetchone()
            _say(row[0] if row else 0)
            continue
        t = time.perf_counter()
        if "add" in op:
            m.add([op["add"]], user_id=user, infer=False)
        else:
            m.search(op["search"], filters={"user_id": user}, top_k=8)
        _say(time.perf_counter() - t)
    return out


def _say(value: Any) -> None:
    """One protocol line to the parent (mem0 may print its own lines; these are marked)."""
    print(PROTOCOL + json.dumps(value), flush=True)


def _hear(proc: Any) -> Any:
    for line in proc.stdout:
        if line.startswith(PROTOCOL):
            return json.loads(line[len(PROTOCOL) :])
    raise RuntimeError("the mem0 worker stopped")


def memos_side(workload: dict[str, Any]) -> dict[str, Any]:
    from memos.memory.ingest import ingest
    from memos.models import IngestItem

    ns = "peer-user"
    items = [
        IngestItem(session_id="s1", role=msg["role"], text=msg["content"]) for msg in workload["messages"]
    ]
    out: dict[str, Any] = {}
    t = time.perf_counter()
    for lo in range(0, len(items), CHUNK):
        ingest(ns, items[lo : lo + CHUNK], actor="bench")
    out["bulk_s"] = time.perf_counter() - t
    # What the decay job does on its schedule: a namespace past MEMOS_ANN_MIN_MEMORIES gets its own
    # HNSW index (memos.retrieval.ann); timed apart from the adds. mem0 keeps its index on insert.
    from memos.retrieval import ann

    t = time.perf_counter()
    out["ann_index"] = ann.maintain()
    out["ann_build_s"] = round(time.perf_counter() - t, 3)
    if workload["analyze"]:
        # What autovacuum does within a minute of a load (``bench_common.bulk_load`` does the same):
        # before a table's first ANALYZE the planner estimates one row for every filter and reads
        # the exact-duplicate and recent-turn lookups through the whole namespace (docs/BENCHMARKS.md,
        # "Single add, fourth round"). ``--fresh`` measures that first minute instead.
        from memos.store import db

        t = time.perf_counter()
        with db.autocommit_connection() as conn:
            conn.execute("ANALYZE memories")
        out["analyze_s"] = round(time.perf_counter() - t, 3)
    return out


def memos_add(msg: dict[str, Any]) -> float:
    from memos.memory.ingest import ingest
    from memos.models import IngestItem

    item = IngestItem(session_id="s2", role=msg["role"], text=msg["content"])
    t = time.perf_counter()
    ingest("peer-user", [item], actor="bench")
    return time.perf_counter() - t


def memos_rows() -> int:
    from memos.store import db

    with db.connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM memories WHERE namespace = %s", ("peer-user",)
        ).fetchone()
    return int(row["n"])


def memos_search(q: str) -> float:
    from memos.models import QueryRequest
    from memos.retrieval.search import query

    t = time.perf_counter()
    query(QueryRequest(namespace="peer-user", query=q, top_k=8))
    return time.perf_counter() - t


def side_by_side(kind: str, inputs: list[Any], proc: Any) -> tuple[list[float], list[float]]:
    """Each single add (``kind`` "add") or query ("search") on both sides, one after the other, the
    first side alternating."""
    memos_lat: list[float] = []
    mem0_lat: list[float] = []
    for i, x in enumerate(inputs):
        for side in ("memos", "mem0") if i % 2 == 0 else ("mem0", "memos"):
            if side == "memos":
                memos_lat.append(memos_add(x) if kind == "add" else memos_search(x))
            else:
                mem0_lat.append(float(_ask(proc, {kind: x})))
    return memos_lat, mem0_lat


def _ask(proc: Any, op: Any) -> Any:
    proc.stdin.write(json.dumps(op) + "\n")
    proc.stdin.flush()
    return _hear(proc)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 memories, 100 queries (default)")
    ap.add_argument("--full", action="store_true", help="5,000 memories, 300 queries")
    ap.add_argument("--memories", type=int)
    ap.add_argument("--queries", type=int)
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="no ANALYZE after the load (a store before autovacuum's first pass)",
    )
    ap.add_argument("--peer-python", default=os.environ.get("MEM0_PYTHON", "/tmp/mem0venv/bin/python"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:  # inside the mem0 virtualenv
        given = json.loads(Path(args.worker).read_text())
        print(json.dumps(mem0_worker(given["db_url"], given)))
        return {}

    import tempfile

    from bench_common import TextSource, local_stack, machine, table, write_result

    n = args.memories or (5_000 if args.full else 1_000)
    # Another size than the mode's writes its own file (not the published quick/full result).
    mode = ("full" if args.full else "quick") if args.memories is None else f"{n}"
    n_q = args.queries or (300 if args.full else 100)
    started = machine()
    if not Path(args.peer_python).exists():
        print(f"peer skipped: no mem0 interpreter at {args.peer_python} (see this file's docstring)")
        write_result("peer", mode, {"skipped": f"no mem0 interpreter at {args.peer_python}"}, started)
        return {}
    texts = TextSource(seed=41)
    from memos.kernel.config import get_settings

    workload: dict[str, Any] = {
        "dim": get_settings().embed_dim,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": texts.text()} for i in range(n)
        ],
        "singles": [{"role": "user", "content": texts.text()} for _ in range(100)],
        "queries": [texts.query() for _ in range(n_q)],
        "analyze": not args.fresh,
    }
    with tempfile.TemporaryDirectory(prefix="memos-peer-") as tmp, local_stack():
        workload["tmp"] = tmp
        workload["db_url"] = os.environ["MEMOS_DATABASE_URL"]
        wl = Path(tmp) / "workload.json"
        wl.write_text(json.dumps(workload))
        memos = memos_side(workload)
        errors = (Path(tmp) / "mem0.err").open("w")
        proc = subprocess.Popen(
            [args.peer_python, str(Path(__file__).resolve()), "--worker", str(wl)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=tmp,
        )  # fmt: skip
        try:
            mem0 = _hear(proc)
            memos_add_lat, mem0_add_lat = side_by_side("add", workload["singles"], proc)
            memos["rows_stored"], mem0["rows_stored"] = memos_rows(), int(_ask(proc, "count"))
            memos_lat, mem0_lat = side_by_side("search", workload["queries"], proc)
        except RuntimeError:
            stderr = (Path(tmp) / "mem0.err").read_text()[-3000:]
            print(stderr)
            write_result(
                "peer", mode, {"skipped": "mem0 worker failed", "stderr": stderr, "memos": memos}, started
            )
            return {}
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)
            errors.close()
        memos["single"], mem0["single"] = _pct(memos_add_lat), _pct(mem0_add_lat)
        memos["search"], mem0["search"] = _pct(memos_lat), _pct(mem0_lat)
    rows = [
        ("add N in calls of 20 (s)", n, memos["bulk_s"], mem0["bulk_s"], memos["bulk_s"] / mem0["bulk_s"]),
        ("  = memories/s", n, n / memos["bulk_s"], n / mem0["bulk_s"], mem0["bulk_s"] / memos["bulk_s"]),
        ("single add p50 (ms)", 100, memos["single"]["p50_ms"], mem0["single"]["p50_ms"], memos["single"]["p50_ms"] / mem0["single"]["p50_ms"]),
        ("single add p95 (ms)", 100, memos["single"]["p95_ms"], mem0["single"]["p95_ms"], memos["single"]["p95_ms"] / mem0["single"]["p95_ms"]),
        ("search p50 (ms)", n_q, memos["search"]["p50_ms"], mem0["search"]["p50_ms"], memos["search"]["p50_ms"] / mem0["search"]["p50_ms"]),
        ("search p95 (ms)", n_q, memos["search"]["p95_ms"], mem0["search"]["p95_ms"], memos["search"]["p95_ms"] / mem0["search"]["p95_ms"]),
    ]  # fmt: skip
    print(
        f"\nMemOS vs mem0 {mem0.get('mem0_version')} (infer=False), same PostgreSQL, same static embedder, in process"
    )
    table(("measure", "n", "MemOS", "mem0", "MemOS/mem0"), rows)
    print("(for memories/s the ratio is MemOS/mem0 throughput: above 1 means MemOS is faster)")
    out = {
        "memories": n,
        "queries": n_q,
        "analyzed": not args.fresh,
        "memos": memos,
        "mem0": mem0,
        "rows": [list(r) for r in rows],
    }
    write_result("peer", mode, out, started)
    return out


if __name__ == "__main__":
    main()
