"""Stemming a query's candidates: one ``content_terms`` call per memory against one
``content_terms_many`` call for all of them (what scoring and the multi-hop pre-ranking do); and
tokenising each text through its NFKC-normalised form against ``words()`` (which skips that for
ASCII text).

    python bench/bench_terms.py [--candidates 70] [--rounds 300]

Candidates are turns of the synthetic evaluation set (speaker and text, as ``indexed_text`` gives
them), drawn at random in groups the size of a query's candidate set. The two ways run alternately
in one process, on the same groups, so machine load falls on both; the figure is CPU time per query.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from bench_common import paired

from memos.kernel.text import _WORD, content_terms, content_terms_many, indexed_text, normalize, words

DATA = Path(__file__).parent / "data" / "synthetic_eval.json"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=70)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args(argv)
    turns = [
        indexed_text(t["text"], {"speaker": t["speaker"]})
        for conv in json.loads(DATA.read_text())["conversations"]
        for s in conv["sessions"]
        for t in s["turns"]
    ]
    rng = random.Random(7)
    groups = [rng.sample(turns, args.candidates) for _ in range(args.rounds)]
    each: list[float] = []
    batched: list[float] = []
    for group in groups:
        t0 = time.process_time()
        one = [content_terms(text) for text in group]
        t1 = time.process_time()
        many = content_terms_many(group)
        t2 = time.process_time()
        if one != many:
            raise SystemExit("content_terms_many disagrees with content_terms")
        each.append((t1 - t0) * 1e3)
        batched.append((t2 - t1) * 1e3)
    print(f"{args.rounds} queries of {args.candidates} candidates ({len(turns)} turns to draw from)")
    paired(("content_terms per memory", each), ("content_terms_many", batched))

    # Tokenising, the rest of the cost: words() skips NFKC and the spacing pass for ASCII text.
    normalised: list[float] = []
    direct: list[float] = []
    for group in groups:
        t0 = time.process_time()
        before = [_WORD.findall(normalize(text)) for text in group]
        t1 = time.process_time()
        after = [words(text) for text in group]
        t2 = time.process_time()
        if before != after:
            raise SystemExit("words() disagrees with the normalised text's words")
        normalised.append((t1 - t0) * 1e3)
        direct.append((t2 - t1) * 1e3)
    print()
    paired(("findall(normalize(text))", normalised), ("words(text)", direct))


if __name__ == "__main__":
    main()
