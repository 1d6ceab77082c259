"""``memos eval DATASET``: run the harness against a running API, or an in-process local stack."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.evaluation.harness import DEFAULT_TOKEN_BUDGET, SYSTEMS


def _systems(value: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    bad = [s for s in names if s not in SYSTEMS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"systems must be a comma-separated subset of {','.join(SYSTEMS)}")
    return names


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="measure retrieval (Recall@k, MRR, token savings, pollution, latency) on a dataset",
        description="Ingest a dataset (native JSON or LoCoMo) through the API, ask its questions, and"
        " compare MemOS with BM25 and plain vector baselines. Without --url, starts a local stack.",
    )
    p.add_argument("dataset", help="dataset JSON file (native format or LoCoMo release format)")
    p.add_argument("--url", help="base URL of a running MemOS API (default: start a local stack)")
    p.add_argument("--api-key", help="API key for --url (needs memory:write and memory:read)")
    p.add_argument("--top-k", type=_positive, default=10)
    p.add_argument("--token-budget", type=_positive, default=DEFAULT_TOKEN_BUDGET)
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("--systems", type=_systems, default=SYSTEMS, help="comma-separated: memos,bm25,vector")
    p.add_argument("--limit-questions", type=_positive, help="ask only this many questions (spread)")
    p.add_argument("--data-dir", help="local stack data dir (default: a temporary directory)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_eval)
    return p


def cmd_eval(args: argparse.Namespace) -> int:
    from infra.evaluation.datasets import load_dataset
    from infra.evaluation.harness import print_results, run_eval, write_results

    dataset = load_dataset(args.dataset)

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    say(
        f"{dataset.name} ({dataset.source_format}): {len(dataset.conversations)} conversations,"
        f" {dataset.n_turns} turns, {dataset.n_questions} questions"
    )
    if dataset.dropped_evidence:
        say(f"note: {dataset.dropped_evidence} evidence ids named no turn and were dropped")
    kwargs: dict[str, Any] = dict(
        top_k=args.top_k,
        token_budget=args.token_budget,
        systems=args.systems,
        limit_questions=args.limit_questions,
        progress=say,
    )

    if args.url or "memos" not in args.systems:
        results = run_eval(dataset, args.url, args.api_key, **kwargs)
    else:
        from infra.local.stack import LocalStack

        with tempfile.TemporaryDirectory(prefix="memos-eval-") as tmp:
            data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
            say(f"starting a local stack in {data_dir} ...")
            stack = LocalStack(data_dir, port=0)
            stack.start()
            try:
                say(f"local stack at {stack.url}")
                results = run_eval(dataset, stack.url, stack.api_key, **kwargs)
            finally:
                stack.stop()

    print_results(results)
    if args.out:
        write_results(results, args.out)
        say(f"wrote {args.out}")
    return 0
