"""The query's pure-Python steps, this checkout's against another's, in CPU time on the same inputs.

    python bench/bench_rank_pack.py --base PATH [--memories 5000] [--queries 300] [--rounds 2] [--repeat 3]

Ranking (``scoring.score_candidates`` and the sort, as ``memos.retrieval.search.query`` runs them),
packing (``context_pack.build``) and the response model (``search._response``) take no statement:
their cost is CPU, which a loaded machine's wall clock (``timings_ms``) overstates by whatever the
scheduler adds. So their inputs are captured from real queries (a fresh local stack, one namespace
of ``--memories`` memories ingested as ``bench_query_ab.py`` does, the same questions, every other
one naming the ingested session ``s1``: its L1 window goes into the pack) and replayed in two worker
processes, one importing this checkout's ``memos`` and one PATH's, alternating ``--rounds`` times,
each replaying every query ``--repeat`` times on fresh copies, timed with the thread's CPU clock
(``time.thread_time_ns``). Reports the median and mean per query and step of each side, their
ratio, and whether both sides produced the same ranked candidates (ids, scores, components), packs,
token usages and responses: one digest of all of them per side ("now" frozen for importance).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARK = "@@rp "
NOW = (2026, 12, 7, 20, 0)  # importance is computed "as of now": frozen, so both sides see one clock


def _scale(ab: dict[str, float]) -> Any:
    a, b = ab["a"], ab["b"]

    def scale(cos: float) -> float:  # ``CosineScale.for_query``'s, rebuilt from its captured a, b
        return min(1.0, max(0.0, a * cos + b))

    return scale


def replay(path: Path, repeat: int) -> dict[str, Any]:
    """Inside a worker: replay every captured query ``repeat`` times; CPU per step and a digest."""
    from datetime import UTC, datetime

    import memos.retrieval.search as search
    from memos.retrieval import context_pack, scoring

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime(*NOW, tzinfo=UTC)

    scoring.datetime = Frozen  # type: ignore[attr-defined,misc]
    caps = pickle.loads(path.read_bytes())
    rank: list[int] = []
    pack: list[int] = []
    response: list[int] = []
    digest = hashlib.sha256()
    clock = time.thread_time_ns
    for rep in range(repeat):
        for (cands, req, policy, stats, when, overlap), ab in zip(caps["score"], caps["scales"], strict=True):
            cs = copy.deepcopy(cands)
            scale = _scale(ab)
            t = clock()
            scoring.score_candidates(cs, req, policy, stats, when, overlap, scale)
            cs.sort(key=lambda c: (-c.score, c.id.int))
            rank.append(clock() - t)
            if rep == 0:
                digest.update(json.dumps([[str(c.id), c.score, c.components] for c in cs]).encode())
        for req, summary, window, kept, budget, every in caps["build"]:
            kept, every = copy.deepcopy(kept), copy.deepcopy(every)
            t = clock()
            built, over, usage = context_pack.build(req, summary, window, kept, budget, all_candidates=every)
            pack.append(clock() - t)
            t = clock()
            resp = search._response(req, uuid.UUID(int=1), kept, [], built, usage, {})
            response.append(clock() - t)
            if rep == 0:
                whole = resp.model_dump(mode="json", exclude={"context_pack": {"id"}})
                digest.update(json.dumps([whole, [str(m) for m in over]], default=str).encode())
    return {"rank": rank, "pack": pack, "response": response, "digest": digest.hexdigest()[:16]}


def worker() -> None:
    print(MARK + "ready", flush=True)
    for line in sys.stdin:
        path, repeat = json.loads(line)
        print(MARK + json.dumps(replay(Path(path), repeat)), flush=True)


def capture(n: int, n_queries: int, out: Path) -> int:
    """Run the queries once on a fresh stack, keeping what ranking and packing were given."""
    from bench_common import TextSource, ingest_conversation, local_stack

    with local_stack():
        import memos.retrieval.search as search
        from memos.models import QueryRequest
        from memos.retrieval import ann

        ns = f"rp-{n}"
        ingest_conversation(ns, n)
        ann.maintain()
        asked = TextSource(seed=99)  # the questions of bench_query_ab.py
        queries = [asked.query() for _ in range(n_queries + 20)]
        for q in queries[:20]:
            search.query(QueryRequest(namespace=ns, query=q, top_k=8))
        caps: dict[str, list[Any]] = {"score": [], "scales": [], "build": []}
        score, build = search.score_candidates, search.context_pack.build

        def score_kept(
            cands: Any, req: Any, policy: Any, stats: Any, when: Any, overlap: Any, scale: Any
        ) -> Any:
            caps["score"].append(copy.deepcopy((cands, req, policy, stats, when, overlap)))
            cells = [c.cell_contents for c in scale.__closure__ or ()]
            caps["scales"].append(dict(zip(scale.__code__.co_freevars, cells, strict=True)))
            return score(cands, req, policy, stats, when, overlap, scale)

        def build_kept(
            req: Any, summary: Any, window: Any, chosen: Any, budget: Any, all_candidates: Any
        ) -> Any:
            caps["build"].append(copy.deepcopy((req, summary, window, chosen, budget, all_candidates)))
            return build(req, summary, window, chosen, budget, all_candidates=all_candidates)

        search.score_candidates = score_kept  # type: ignore[assignment]
        search.context_pack.build = build_kept  # type: ignore[assignment]
        try:
            for i, q in enumerate(queries[20:]):
                search.query(QueryRequest(namespace=ns, query=q, top_k=8, session_id="s1" if i % 2 else None))
        finally:
            search.score_candidates, search.context_pack.build = score, build  # type: ignore[assignment]
    out.write_bytes(pickle.dumps(caps))
    return len(caps["score"])


def _spawn(checkout: Path) -> Any:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(checkout / "layers"), str(checkout)]))
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=checkout,
    )  # fmt: skip


def _hear(proc: Any) -> str:
    for line in proc.stdout:
        if line.startswith(MARK):
            return str(line[len(MARK) :])
    raise RuntimeError("a worker stopped")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="a checkout of the code to compare with")
    ap.add_argument("--memories", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2, help="this/base alternations")
    ap.add_argument("--repeat", type=int, default=3, help="replays of every query per round")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker()
        return {}
    if not args.base:
        ap.error("--base is required")
    from bench_common import machine, table, write_result

    started = machine()
    base = Path(args.base).resolve()
    with tempfile.TemporaryDirectory(prefix="memos-rank-pack-") as tmp:
        path = Path(tmp) / "inputs.pickle"
        captured = capture(args.memories, args.queries, path)
        procs = {side: _spawn(checkout) for side, checkout in (("this", HERE.parent), ("base", base))}
        got: dict[str, dict[str, Any]] = {side: {"rank": [], "pack": [], "response": []} for side in procs}
        digests: dict[str, set[str]] = {side: set() for side in procs}
        try:
            for proc in procs.values():
                assert _hear(proc).startswith("ready")
            for r in range(args.rounds):
                for side in ("this", "base") if r % 2 == 0 else ("base", "this"):
                    proc = procs[side]
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps([str(path), args.repeat]) + "\n")
                    proc.stdin.flush()
                    res = json.loads(_hear(proc))
                    for step in ("rank", "pack", "response"):
                        got[side][step] += res[step]
                    digests[side].add(res["digest"])
        finally:
            for proc in procs.values():
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=60)
    out: dict[str, Any] = {
        "base": base.name,
        "memories": args.memories,
        "queries": captured,
        "rounds": args.rounds,
        "repeat": args.repeat,
        "same_outputs": len(digests["this"] | digests["base"]) == 1,
        "digests": {side: sorted(d) for side, d in digests.items()},
        "cpu_ms": {
            side: {
                step: {
                    "median": round(statistics.median(v) / 1e6, 4),
                    "mean": round(statistics.mean(v) / 1e6, 4),
                }
                for step, v in steps.items()
            }
            for side, steps in got.items()
        },
    }
    rows = []
    for step in ("rank", "pack", "response"):
        for k in ("median", "mean"):
            b, t = out["cpu_ms"]["base"][step][k], out["cpu_ms"]["this"][step][k]
            rows.append((step, k, b, t, round(t / b, 3) if b else ""))
    table(("step (CPU ms per query)", "", "base", "this", "this/base"), rows)
    print(
        f"same ranked candidates, packs and responses on both sides: {out['same_outputs']} ({captured} queries)"
    )
    write_result("rank_pack", str(args.memories), out, started)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
