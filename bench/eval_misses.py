"""Why evidence is missed: for the questions of one category, each evidence turn outside MemOS's top k,
and whether it was a candidate at all (candidate generation) or ranked below k (scoring).

    python bench/eval_misses.py [--data bench/data/synthetic_eval.json] [--category multi-evidence]
                                [--top-k 10] [--out misses.json]

Starts an in-process local stack (like ``memos eval``), ingests the conversations that have questions
of the category, and asks each question twice: with ``top_k`` and ``include_filtered`` (every other
candidate comes back as ``not_in_top_k`` or ``below_threshold`` with its score), and with
``top_k=100`` for the missed turns' components. A turn in neither list was never a candidate.
Use it on synthetic set A only (set B is held out).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from infra.evaluation.datasets import load_dataset
from infra.evaluation.harness import SystemRun, _MemosSystem, _with_sessions, api_name
from infra.local.client import MemosClient
from infra.local.stack import LocalStack

DATA = Path(__file__).resolve().parent / "data" / "synthetic_eval.json"


def misses(client: Any, data: Path, category: str, top_k: int) -> list[dict[str, Any]]:
    system = _MemosSystem(client, SystemRun(), top_k, None)
    out: list[dict[str, Any]] = []
    for conv in load_dataset(data).conversations:
        questions = [q for q in conv.questions if q.category == category and q.evidence]
        if not questions:
            continue
        ns = api_name("misses", conv.id)
        system.ingest(_with_sessions(conv), ns)
        text_of = {t.id: f"{t.speaker}: {t.text}" if t.speaker else t.text for t in conv.turns()}
        memory_of = {tid: mid for mid, tids in system.turns_of.items() for tid in tids}
        for q in questions:
            body = {"namespace": ns, "query": q.question, "token_budget": 32000}
            first = client.query(body | {"top_k": top_k, "include_filtered": True}).ok()
            kept = [str(r["memory_id"]) for r in first["results"]]
            others = sorted(first.get("filtered") or [], key=lambda f: -(f.get("score") or 0.0))
            ranked = kept + [str(f["memory_id"]) for f in others if f["reason"] == "not_in_top_k"]
            below = {str(f["memory_id"]) for f in others if f["reason"] == "below_threshold"}
            wide = {str(r["memory_id"]): r for r in client.query(body | {"top_k": 100}).ok()["results"]}
            missed = []
            for tid in q.evidence:
                mid = memory_of.get(tid)
                if mid in kept:
                    continue
                row: dict[str, Any] = {"turn": tid, "text": text_of.get(tid)}
                if mid in ranked:
                    row |= {"why": "ranked below k", "rank": ranked.index(mid) + 1}
                    if mid in wide:
                        row |= {"score": wide[mid]["score"], "components": wide[mid]["components"]}
                elif mid in below:
                    row["why"] = "below min_score"
                else:
                    row["why"] = "not a candidate"
                missed.append(row)
            out.append(
                {
                    "conversation": conv.id,
                    "question": q.question,
                    "evidence": len(q.evidence),
                    "missed": missed,
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--category", default="multi-evidence")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--out", type=Path, help="write every question's missed turns here (JSON)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="memos-misses-") as tmp:
        stack = LocalStack(Path(tmp), port=0)
        stack.start()
        try:
            found = misses(
                MemosClient(stack.url, stack.api_key, timeout_s=120), args.data, args.category, args.top_k
            )
        finally:
            stack.stop()
    turns = sum(r["evidence"] for r in found)
    missed = [m for r in found for m in r["missed"]]
    print(
        f"{args.category}: {len(found)} questions, {turns} evidence turns, {len(missed)} outside the top {args.top_k}"
    )
    for why, n in Counter(m["why"] for m in missed).most_common():
        print(f"  {why}: {n}")
    if args.out:
        args.out.write_text(json.dumps(found, indent=1, default=str))


if __name__ == "__main__":
    main()
