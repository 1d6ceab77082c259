"""A single add, this checkout's ingest module against another checkout's, add by add in one process.

    python bench/bench_single_add_ab.py --base ../memos-base [--memories N] [--pairs N]

The peer benchmark's shape (``bench_peer.py``, ``profile_single_add.py``): N memories (default
1,000) added in calls of 20 into one session, ``ANALYZE memories``, then single adds into a second
session, alternating between the two modules add by add (ABBA: which goes first flips each pair),
so both see the same load, the same store and the same session as it grows. Only
``memos/memory/ingest.py`` is taken from the base checkout (loaded under another module name beside
this checkout's library): the rest of the library must be the same on both (checked: the command
stops when another file under ``layers/memos`` differs). Prints each side's wall p50/p95 and median
thread CPU an add, the ratios, and the load average; writes
``bench/results/single-add-ab-<N>.json``.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_common import ROOT, TextSource, admin_conn, local_stack, machine, pct, table, write_result


def _differing(base: Path) -> list[str]:
    """Files under ``layers/memos`` (other than the ingest module) that differ between the checkouts."""
    ours, theirs = ROOT / "layers" / "memos", base / "layers" / "memos"
    out = []
    for path in sorted(ours.rglob("*.py")):
        rel = path.relative_to(ours)
        other = theirs / rel
        if str(rel) != os.path.join("memory", "ingest.py") and (
            not other.exists() or not filecmp.cmp(path, other, shallow=False)
        ):
            out.append(str(rel))
    return out


def _load_base(base: Path) -> Any:
    spec = importlib.util.spec_from_file_location(
        "memos.memory._ingest_base", base / "layers" / "memos" / "memory" / "ingest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="the other checkout (e.g. a worktree of main)")
    ap.add_argument("--memories", type=int, default=1_000)
    ap.add_argument("--pairs", type=int, default=300)
    args = ap.parse_args(argv)
    differing = _differing(args.base.resolve())
    if differing:
        sys.exit(f"only memos/memory/ingest.py may differ; these do too: {', '.join(differing)}")
    started = machine()
    texts = TextSource(seed=41)
    with local_stack():
        from memos.memory import ingest as this
        from memos.models import IngestItem

        base = _load_base(args.base.resolve())
        ns = "peer-user"
        load = [
            IngestItem(session_id="s1", role="user" if i % 2 == 0 else "assistant", text=texts.text())
            for i in range(args.memories)
        ]
        for lo in range(0, len(load), 20):
            this.ingest(ns, load[lo : lo + 20], actor="bench")
        with admin_conn() as conn:
            conn.execute("ANALYZE memories")
        sides = {"base": base.ingest, "this": this.ingest}
        for _ in range(10):  # prepared statements and pools, on both
            for run in sides.values():
                run(ns, [IngestItem(session_id="s2", role="user", text=texts.text())], actor="bench")
        wall: dict[str, list[float]] = {k: [] for k in sides}
        cpu: dict[str, list[float]] = {k: [] for k in sides}
        for i in range(args.pairs):
            for name in ("this", "base") if i % 2 == 0 else ("base", "this"):
                item = [IngestItem(session_id="s2", role="user", text=texts.text())]
                t, c = time.perf_counter(), time.thread_time()
                sides[name](ns, item, actor="bench")
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.thread_time() - c)
    result = {
        name: {**pct(wall[name]), "cpu_median_ms": round(statistics.median(cpu[name]) * 1000, 3)}
        for name in sides
    }
    ratios = {
        "p50": result["this"]["p50_ms"] / result["base"]["p50_ms"],
        "p95": result["this"]["p95_ms"] / result["base"]["p95_ms"],
        "cpu": result["this"]["cpu_median_ms"] / result["base"]["cpu_median_ms"],
    }
    table(
        ["side", "wall p50 ms", "wall p95 ms", "CPU median ms"],
        [[n, r["p50_ms"], r["p95_ms"], r["cpu_median_ms"]] for n, r in result.items()],
    )
    print(
        f"this / base: p50 {ratios['p50']:.3f}, p95 {ratios['p95']:.3f}, CPU {ratios['cpu']:.3f}"
        f" (load {started['loadavg'][0]} -> {os.getloadavg()[0]:.2f})"
    )
    write_result(
        "single-add-ab",
        str(args.memories),
        {"memories": args.memories, "pairs": args.pairs, "sides": result, "ratios": ratios},
        started,
    )


if __name__ == "__main__":
    main()
