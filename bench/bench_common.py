"""Shared helpers for the benchmarks: the local stack, varied texts, a keep-alive HTTP client,
percentiles, bulk loading with COPY, and the JSON result files in ``bench/results/``.

Every result records the machine state it was measured under (CPU count, load average before and
after, the embedder), because the 2-core development machine is shared with other work.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / "bench" / "data" / "synthetic_eval.json"

# Before any memos import: no EMF metric lines on stdout, no INFO logs in the measurement loops.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

for p in (str(ROOT), str(ROOT / "layers")):
    if p not in sys.path:
        sys.path.insert(0, p)


# --- machine state and results ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from memos.kernel.config import get_settings

    settings = get_settings()
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        rev = ""
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "embedder": settings.embedder,
        "embed_dim": settings.embed_dim,
        "git_head": rev,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, mode: str, payload: dict[str, Any], started: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{mode}.json"
    body = {
        "benchmark": name,
        "mode": mode,
        "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "machine_before": started,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        **payload,
    }
    out.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, r in enumerate(cells):
        print(
            "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def paired(before: tuple[str, list[float]], after: tuple[str, list[float]]) -> None:
    """Median and p95 (ms) of two ways timed alternately in one run, and the ratio of their medians."""
    rows = [[name, statistics.median(v), statistics.quantiles(v, n=20)[18]] for name, v in (before, after)]
    table(["way", "median ms", "p95 ms"], rows)
    print(f"ratio ({after[0]} / {before[0]}, medians): {rows[1][1] / rows[0][1]:.2f}")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def pct(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds."""
    a = np.asarray(samples_s, dtype=float) * 1000
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "mean_ms": round(float(a.mean()), 3),
    }


# --- the local stack -------------------------------------------------------------------------------


@contextlib.contextmanager
def local_stack(data_dir: Path | None = None, instances: int = 1) -> Iterator[Any]:
    """A fresh local stack (embedded PostgreSQL + pgvector, Redis, moto, HTTP API) in a temp dir, or
    in ``data_dir`` (kept afterwards, its database reused the next time); ``instances`` > 1: the API's
    invocations run in that many processes (``infra.local.instances``)."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    # The per-key rate limit (50 rps by default) would turn a latency loop into a 429 test.
    os.environ.setdefault("MEMOS_RATE_LIMIT_RPS", "1000000")
    os.environ.setdefault("MEMOS_RATE_LIMIT_BURST", "1000000")
    from infra.local.stack import LocalStack

    with contextlib.ExitStack() as cleanup:
        if data_dir is None:
            data_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="memos-bench-")))
        data_dir.mkdir(parents=True, exist_ok=True)
        extra = {"instances": instances} if instances > 1 else {}  # an older checkout has none
        stack = LocalStack(data_dir, port=0, decay_interval_s=86_400, **extra).start()
        # The background consumers would compete for the same 2 cores (in the cloud they are other
        # Lambdas); jobs are still enqueued on the moto queue by ingest, only not consumed.
        for worker in (stack._worker, stack._decay):
            if worker is not None:
                worker.stop()
        try:
            yield stack
        finally:
            stack.stop()


def admin_conn() -> Any:
    """An autocommit connection to the stack's database (dict rows, vectors registered)."""
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg.rows import dict_row

    conn = psycopg.connect(os.environ["MEMOS_DATABASE_URL"], autocommit=True, row_factory=dict_row)
    register_vector(conn)
    return conn


class Http:
    """One keep-alive HTTP/1.1 connection (what an SDK with a session would do)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        u = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=60)
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        self.conn.request("POST", path, json.dumps(body, default=str).encode(), self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None

    def close(self) -> None:
        self.conn.close()


# --- varied texts ----------------------------------------------------------------------------------

_CAP = re.compile(r"\b[A-Z][a-z]{2,}\b")
_NUM = re.compile(r"\b\d+\b")
_FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elif",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jonas",
    "Kemal",
    "Lena",
    "Marta",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Xavi",
    "Yusuf",
    "Zoe",
    "Aiko",
    "Bruno",
    "Carmen",
    "Diego",
    "Emeka",
    "Freya",
    "Goran",
    "Hugo",
    "Ines",
    "Jin",
    "Kai",
    "Leila",
]
_PLACES = [
    "Galway",
    "Lisbon",
    "Osaka",
    "Denver",
    "Tallinn",
    "Porto",
    "Kyoto",
    "Austin",
    "Lyon",
    "Bergen",
    "Krakow",
    "Seville",
    "Quebec",
    "Tbilisi",
    "Dublin",
    "Nairobi",
    "Hanoi",
    "Oslo",
    "Turin",
    "Bremen",
    "Cusco",
    "Perth",
    "Malmo",
    "Ghent",
    "Bilbao",
    "Riga",
    "Split",
    "Bordeaux",
]
_TAILS = (
    "before the release",
    "after the standup",
    "for the payments team",
    "next sprint",
    "on the staging box",
    "with the new vendor",
    "during the offsite",
    "for the Q3 roadmap",
    "after lunch",
    "over the weekend",
    "because of the outage",
    "in the design review",
    "for the mobile app",
    "on the old cluster",
    "with my sister",
    "at the climbing gym",
    "for the book club",
    "before the flight",
    "at the farmers market",
)


@dataclass
class TextSource:
    """Sentences from the synthetic eval set with random names, places, numbers and tails: varied,
    realistic chat turns (so exact and near-duplicate checks do what they would on real traffic)."""

    seed: int = 7

    def __post_init__(self) -> None:
        data = json.loads(DATA.read_text(encoding="utf-8"))
        turns = [t for c in data["conversations"] for s in c["sessions"] for t in s["turns"]]
        self.templates = sorted({t["text"] for t in turns})
        self.questions = sorted(
            {q["question"] for c in data["conversations"] for q in c.get("questions", [])}
        )
        self.rng = random.Random(self.seed)

    def text(self) -> str:
        rng = self.rng
        s = rng.choice(self.templates)
        s = _CAP.sub(lambda m: rng.choice(_FIRST + _PLACES) if rng.random() < 0.6 else m.group(0), s)
        s = _NUM.sub(lambda m: str(rng.randint(1, 2030)), s)
        if rng.random() < 0.7:
            s = s.rstrip(".!?") + " " + rng.choice(_TAILS) + rng.choice((".", "!", "."))
        if rng.random() < 0.3:
            s += " " + rng.choice(self.templates)
        return s

    def speaker(self) -> str:
        return self.rng.choice(_FIRST)

    def query(self) -> str:
        if self.questions and self.rng.random() < 0.7:
            q = self.rng.choice(self.questions)
            return _CAP.sub(lambda m: self.rng.choice(_FIRST) if self.rng.random() < 0.3 else m.group(0), q)
        return self.text()

    def items(self, n: int, sessions: int, start: datetime | None = None) -> list[dict[str, Any]]:
        t0 = start or datetime.now(UTC) - timedelta(days=30)
        return [
            {
                "session_id": f"s{i % sessions}",
                "role": "user" if i % 2 == 0 else "assistant",
                "text": self.text(),
                "metadata": {"speaker": self.speaker()},
                "occurred_at": (t0 + timedelta(seconds=37 * i)).isoformat(),
            }
            for i in range(n)
        ]


# --- bulk loading ----------------------------------------------------------------------------------

COPY_COLUMNS = (
    "id, namespace, session_id, turn_no, role, kind, text, metadata, occurred_at, created_at,"
    " importance, base_importance, content_hash, tokens, embedding, status, decay_half_life, decay_floor"
)
COPY_TYPES = [
    "uuid", "text", "text", "int8", "text", "text", "text", "jsonb", "timestamptz", "timestamptz",
    "float4", "float4", "text", "int4", "vector", "text", "float4", "float4",
]  # fmt: skip


def ingest_conversation_once(namespace: str, n: int) -> None:
    """``ingest_conversation`` unless this store already holds that namespace's ``n`` turns, loaded
    to the end (a store kept with ``--store DIR`` is loaded once and reused; its row count cannot
    tell: near duplicates are not stored as new rows)."""
    with admin_conn() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_loaded (namespace text PRIMARY KEY, turns int)")
        row = conn.execute("SELECT turns FROM bench_loaded WHERE namespace = %s", (namespace,)).fetchone()
        if row is not None and row["turns"] == n:
            return
        assert row is None, f"{namespace} was loaded with another size"
        ingest_conversation(namespace, n)
        conn.execute("INSERT INTO bench_loaded VALUES (%s, %s)", (namespace, n))


def ingest_conversation(namespace: str, n: int, seed: int = 41, chunk: int = 20) -> None:
    """``n`` turns of one session (user and assistant alternating, ``TextSource(seed)``) ingested
    through ``memos.memory.ingest`` in calls of ``chunk``: the peer benchmark's shape."""
    from memos.memory.ingest import ingest
    from memos.models import IngestItem

    texts = TextSource(seed=seed)
    items = [
        IngestItem(session_id="s1", role="user" if i % 2 == 0 else "assistant", text=texts.text())
        for i in range(n)
    ]
    for lo in range(0, n, chunk):
        ingest(namespace, items[lo : lo + chunk], actor="bench")


def bulk_load(
    conn: Any,
    namespaces: dict[str, int],
    texts: TextSource,
    *,
    turns_per_session: int = 200,
    age_days: float = 365.0,
    planned: bool = True,
    log: Any = print,
) -> dict[str, float]:
    """Load ``namespaces`` (name → rows) straight into ``memories`` with binary COPY, the way ingest
    would have written them (same hash, tokens, importance, embedding of the indexed text, term
    statistics, postings and session counters, the default policy's decay plan unless ``planned`` is
    false: rows as written before migration 0007), then build the per-namespace HNSW indexes of the
    namespaces large enough to get one (``memos.retrieval.ann``). Returns seconds per phase."""
    from psycopg.types.json import Jsonb

    from memos.embeddings import get_embedder
    from memos.kernel.text import content_hash, indexed_text
    from memos.kernel.tokens import count_tokens
    from memos.memory.importance import initial_importance
    from memos.retrieval.lexical import record_terms

    embedder = get_embedder()
    timings = {"generate_s": 0.0, "embed_s": 0.0, "copy_s": 0.0, "stats_s": 0.0, "hnsw_build_s": 0.0}
    now = datetime.now(UTC)
    plan = (30.0, 0.05) if planned else (None, None)  # the default policy: 30-day half-life, 0.05 floor
    total = sum(namespaces.values())
    done = 0
    t_all = time.perf_counter()
    for ns, n in namespaces.items():
        for lo in range(0, n, 5000):
            hi = min(n, lo + 5000)
            t = time.perf_counter()
            rows = []
            for i in range(lo, hi):
                text = texts.text()
                meta = {"speaker": texts.speaker()}
                role = "user" if i % 2 == 0 else "assistant"
                occurred = now - timedelta(days=age_days * (1 - i / max(n, 1)), seconds=i % 61)
                rows.append((i, text, meta, role, occurred))
            idx = [indexed_text(r[1], r[2]) for r in rows]
            timings["generate_s"] += time.perf_counter() - t
            t = time.perf_counter()
            vecs = embedder.embed(idx)
            timings["embed_s"] += time.perf_counter() - t
            t = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY memories ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp,
            ):
                cp.set_types(COPY_TYPES)
                ids = [uuid.uuid4() for _ in rows]
                for mid, (i, text, meta, role, occurred), vec in zip(ids, rows, vecs, strict=True):
                    imp = initial_importance(text, role, "episodic", None)
                    # A unique hash per row: bulk rows are never exact duplicates of each other.
                    h = content_hash(f"{text} #{ns}/{i}")
                    cp.write_row(
                        (
                            mid, ns, f"s{i // turns_per_session}", i % turns_per_session + 1, role,
                            "episodic", text, Jsonb(meta), occurred, occurred, imp, imp, h,
                            count_tokens(text), vec, "active", plan[0], plan[1],
                        )
                    )  # fmt: skip
            timings["copy_s"] += time.perf_counter() - t
            t = time.perf_counter()
            with conn.transaction():
                record_terms(conn, ns, list(zip(ids, idx, strict=True)))
            timings["stats_s"] += time.perf_counter() - t
            done += hi - lo
        sessions = (n + turns_per_session - 1) // turns_per_session
        conn.execute(
            "INSERT INTO sessions (namespace, session_id, turn_count, token_count)"
            " SELECT %s, 's' || g, %s, 0 FROM generate_series(0, %s) g ON CONFLICT DO NOTHING",
            (ns, turns_per_session, sessions - 1),
        )
        if len(namespaces) < 20 or done % 50_000 < n:
            log(f"  loaded {done:,}/{total:,} rows ({time.perf_counter() - t_all:.0f} s)")
    conn.execute("VACUUM ANALYZE memories")  # what autovacuum does soon after a load
    conn.execute("VACUUM ANALYZE postings")
    t = time.perf_counter()
    from memos.retrieval import ann

    ann.maintain()  # what the decay job does after a namespace grew past the threshold
    timings["hnsw_build_s"] = time.perf_counter() - t
    return {k: round(v, 2) for k, v in timings.items()}


def set_nodelay(stack: Any, on: bool) -> None:
    """Turn TCP_NODELAY on or off for the local server's next connections.

    The local server writes headers and body in two send() calls; with Nagle's algorithm on, the
    body waits for the client's delayed ACK (~40 ms on Linux). The benchmarks measure both ways
    so the difference is visible; the shipped server is measured first, unchanged.
    """
    stack.server.httpd.RequestHandlerClass.disable_nagle_algorithm = on
