"""Cold start: import time of each function's handler module from the Lambda bundle layout.

    python bench/bench_coldstart.py [--quick | --full] [--repeat R]

The bundle is built with the deploy's own bundling code (infra/bundling.py: the functions asset
and the layer, the layer's wheels for this interpreter) into ``$XDG_CACHE_HOME/memos/bench-bundle``.
For every function in functions/routes.py this runs, in that layout only (``-P -S``, PYTHONPATH =
the functions asset and the layer's python/),
``python -P -S -X importtime -c "import functions.<name>.handler"`` R times after one priming run
(which writes the bytecode caches; see docs/BENCHMARKS.md) and reports the median of the summed
self times (the whole import graph, interpreter start-up excluded) and the costliest top-level
packages. The target is <= 200 ms per handler.

The handler module only registers the function's code (functions/shared/entry.py); the code
itself (``functions.<name>.app``: Powertools, pydantic, the models, the domain) loads on first
use: in the SnapStart before-snapshot hook for the API functions and the authorizer, on the first
event for the others. Its import is measured the same way and reported beside ("first use").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_common import machine, table, write_result

TARGET_MS = 200.0


def build_bundle() -> list[Path]:
    """The functions asset and the layer, as CDK bundles them (for this interpreter); the path."""
    from infra.bundling import FunctionsBundling, LayerBundling

    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memos" / "bench-bundle"
    shutil.rmtree(base, ignore_errors=True)
    FunctionsBundling().try_bundle(str(base / "functions-asset"), None)
    LayerBundling(python_version=f"{sys.version_info.major}.{sys.version_info.minor}").try_bundle(
        str(base / "layer"), None
    )
    return [base / "functions-asset", base / "layer" / "python"]


def import_profile(module: str, path: list[Path]) -> tuple[float, dict[str, float]]:
    """(total ms, ms per top-level package) of importing ``module`` in a fresh interpreter."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "MEMOS_ENV": "dev",
        "POWERTOOLS_SERVICE_NAME": "memos",
        "POWERTOOLS_METRICS_NAMESPACE": "MemOS",
    }
    proc = subprocess.run(
        [sys.executable, "-P", "-S", "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, cwd=path[0], env=env, timeout=120, check=True,
    )  # fmt: skip
    per_pkg: dict[str, float] = defaultdict(float)
    total = 0.0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cum, name = (part.strip() for part in line[len("import time:") :].split("|"))
        total += int(self_us)
        per_pkg[name.strip().split(".")[0]] += int(self_us)
    return total / 1000, {k: v / 1000 for k, v in per_pkg.items()}


def measure(module: str, path: list[Path], repeat: int) -> dict[str, Any]:
    import_profile(module, path)  # priming: writes the bytecode caches
    runs = [import_profile(module, path) for _ in range(repeat)]
    totals = [t for t, _ in runs]
    median_run = runs[totals.index(sorted(totals)[len(totals) // 2])][1]
    top = sorted(median_run.items(), key=lambda kv: -kv[1])[:6]
    return {
        "median_ms": round(statistics.median(totals), 1),
        "min_ms": round(min(totals), 1),
        "max_ms": round(max(totals), 1),
        "top_packages_ms": {k: round(v, 1) for k, v in top},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 runs per handler (default)")
    ap.add_argument("--full", action="store_true", help="7 runs per handler")
    ap.add_argument("--repeat", type=int)
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    repeat = args.repeat or (7 if args.full else 3)
    started = machine()
    from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS

    path = build_bundle()
    results: dict[str, Any] = {}
    for name in [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS]:
        results[name] = measure(f"functions.{name}.handler", path, repeat)
        results[name]["first_use"] = measure(f"functions.{name}.app", path, repeat)
    print(
        f"\nHandler import time from the bundle (python -P -S -X importtime, median of {repeat}; "
        f"target <= {TARGET_MS:.0f} ms)"
    )
    table(
        ("function", "median ms", "min", "max", "ok", "top imports (ms)", "first use ms", "first use: top"),
        [
            (
                name, r["median_ms"], r["min_ms"], r["max_ms"], "yes" if r["median_ms"] <= TARGET_MS else "NO",
                ", ".join(f"{k} {v:.0f}" for k, v in list(r["top_packages_ms"].items())[:3]),
                r["first_use"]["median_ms"],
                ", ".join(f"{k} {v:.0f}" for k, v in list(r["first_use"]["top_packages_ms"].items())[:3]),
            )
            for name, r in results.items()
        ],
    )  # fmt: skip
    write_result("coldstart", mode, {"repeat": repeat, "target_ms": TARGET_MS, "functions": results}, started)
    return results


if __name__ == "__main__":
    main()
