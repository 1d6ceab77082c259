"""Schemathesis against the local stack's own OpenAPI document: no request may end in a 5xx.

    pip install schemathesis        # not a project dependency; see docs/SECURITY.md
    python bench/api_fuzz_schemathesis.py [--max-examples 60] [--seed 3]

Starts the local stack (embedded PostgreSQL, Redis, moto) on a free port with a throwaway data
directory, runs ``st run`` with the ``not_a_server_error`` check, and stops the stack. Key
revocation is excluded: the stateful phase would otherwise revoke the very key it runs with.
The per-key rate limit is raised for the run so the fuzzer reaches the handlers, not the 429s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    st = shutil.which("st")
    if st is None:
        print("schemathesis is not installed: pip install schemathesis", file=sys.stderr)
        return 2
    from infra.local.services import free_port
    from infra.local.stack import LocalStack

    os.environ.setdefault("MEMOS_RATE_LIMIT_RPS", "100000")
    os.environ.setdefault("MEMOS_RATE_LIMIT_BURST", "100000")
    with (
        tempfile.TemporaryDirectory(prefix="memos-st-") as data_dir,
        LocalStack(Path(data_dir), port=free_port()) as stack,
    ):
        cmd = [
            st,
            "run",
            f"{stack.url}/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {stack.api_key}",
            "--checks",
            "not_a_server_error",
            "--exclude-path",
            "/v1/keys/{key_id}",
            "--phases",
            "examples,fuzzing,stateful",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
        ]
        return subprocess.run(cmd, check=False, cwd=data_dir).returncode  # its .schemathesis cache too


if __name__ == "__main__":
    sys.exit(main())
