"""Fact retention of rolling summaries: the share of seeded facts still in the text after N folds.

    python bench/summary_retention.py [bench/data/synthetic_eval.json ...] [--fold-every 20]

Each conversation is folded as one long session, ``--fold-every`` turns at a time (the policy's
``condense_after_turns`` default), with the default rule summarizer, exactly as the condensation
consumer calls it (speaker from the turn's metadata). A seeded fact is a question's answer whose
evidence is a single turn (categories single-hop, paraphrase, knowledge-update); it is retained
when the final ``summary_text`` contains the answer (case-insensitive) and, for facts that a later
turn replaced, when it is the answer of the newest value. Also reports how often a fold's text
was larger than what it replaced (it must be 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "synthetic_eval.json"
SEEDED = ("single-hop", "paraphrase", "knowledge-update")


def run(path: Path, fold_every: int) -> dict[str, Any]:
    from memos.governance.summarizer import RuleSummarizer, Turn

    data = json.loads(path.read_text())
    summarizer = RuleSummarizer()
    seeded = retained = folds = grew = 0
    missed: list[str] = []
    for conv in data["conversations"]:
        turns = [
            Turn(
                t["role"],
                t["text"],
                datetime.fromisoformat(t["occurred_at"]),
                t["id"],
                speaker=t.get("speaker"),
            )
            for s in conv["sessions"]
            for t in s["turns"]
        ]
        summary: dict[str, Any] | None = None
        text = ""
        for start in range(0, len(turns), fold_every):
            res = summarizer.summarize(summary, turns[start : start + fold_every])
            summary, text = res.summary, res.summary_text
            folds += 1
            grew += res.tokens_after > res.tokens_before
        low = text.lower()
        answers = {
            q["answer"].lower() for q in conv["questions"] if q["category"] in SEEDED and q.get("answer")
        }
        for answer in sorted(answers):
            seeded += 1
            if answer in low:
                retained += 1
            elif len(missed) < 8:
                missed.append(f"{conv['id']}: {answer}")
    return {
        "dataset": path.name,
        "conversations": len(data["conversations"]),
        "folds": folds,
        "seeded_facts": seeded,
        "retained": retained,
        "retention": round(retained / seeded, 4) if seeded else None,
        "folds_larger_than_input": grew,
        "missed_examples": missed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", nargs="*", default=[str(DATA)])
    ap.add_argument("--fold-every", type=int, default=20)
    args = ap.parse_args(argv)
    for p in args.datasets:
        json.dump(run(Path(p), args.fold_every), sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
