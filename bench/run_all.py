"""Run the benchmarks one after another, each in its own interpreter, and print their tables.

    python bench/run_all.py                 # --quick sizes, every benchmark
    python bench/run_all.py --full          # the SPEC sizes (1M rows: long; see docs/BENCHMARKS.md)
    python bench/run_all.py --only query decay

Benchmarks: ingest, query, decay, condense, coldstart, peer. Each writes
bench/results/<name>-<mode>.json with its numbers, the command and the load average.
Sequential on purpose: the machine has 2 cores, and benchmarks run side by side would measure
each other.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("ingest", "query", "decay", "condense", "coldstart", "peer")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, a few minutes in all (default)")
    size.add_argument("--full", action="store_true", help="the SPEC sizes")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    ap.add_argument("--skip", nargs="+", choices=BENCHMARKS, default=[], help="skip these")
    args = ap.parse_args(argv)
    chosen = [b for b in (args.only or BENCHMARKS) if b not in args.skip]
    flag = "--full" if args.full else "--quick"
    failed = []
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for name in chosen:
        print(f"\n=== {name} ({flag}) ===", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py"), flag], cwd=HERE.parent)
        print(
            f"--- {name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
        if rc:
            failed.append(name)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
