"""Measure an embedder's cosine scale once: related vs unrelated (question, turn) pairs.

    python bench/calibrate_vector.py [--data bench/data/synthetic_eval.json] [--embedder static] [--write]

Related = a question and one of its evidence turns; unrelated = the same question and five turns
of another conversation (other people, other facts). For the static embedder the common
direction is the mean of every turn's vector and ``doc_common`` the median turn's share of it; the
cosines are centred (``memos.embeddings.calibration``) before the percentiles are taken. The scale
maps the unrelated pairs' 75th percentile to 0 and the related pairs' 75th percentile to 1.
``--write`` stores the static scale in ``layers/memos/data/static_minilm_scale.json``.
Only synthetic set 1 is used (never set 2, never a public benchmark).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "synthetic_eval.json"


def _pairs(data: dict[str, Any], seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    convs = data["conversations"]
    text_of = {
        c["id"]: {t["id"]: f"{t.get('speaker')}: {t['text']}" for s in c["sessions"] for t in s["turns"]}
        for c in convs
    }
    related, unrelated = [], []
    for c in convs:
        others = [o for o in convs if o["id"] != c["id"]]
        for q in c["questions"]:
            if not q.get("evidence"):
                continue
            related += [(q["question"], text_of[c["id"]][e]) for e in q["evidence"]]
            pool = rng.sample(list(text_of[rng.choice(others)["id"]].values()), 5)
            unrelated += [(q["question"], t) for t in pool]
    return related, unrelated


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--embedder", default="static", choices=["static", "hashing"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    from memos.embeddings import HashingEmbedder
    from memos.embeddings.calibration import STATIC_SCALE_FILE, CosineScale
    from memos.embeddings.static import StaticEmbedder

    emb: Any = StaticEmbedder() if args.embedder == "static" else HashingEmbedder(384)
    data = json.loads(Path(args.data).read_text())
    turns = [
        f"{t.get('speaker')}: {t['text']}"
        for c in data["conversations"]
        for s in c["sessions"]
        for t in s["turns"]
    ]
    common: tuple[float, ...] = ()
    doc_common = 0.0
    if args.embedder == "static":
        m = emb.embed(turns)
        mu = m.mean(axis=0)
        mu /= np.linalg.norm(mu)
        common = tuple(round(float(x), 6) for x in mu)
        doc_common = round(float(np.median(m @ mu)), 4)
    base = CosineScale(unrelated=0.0, related=1.0, common=common, doc_common=doc_common)
    related, unrelated = _pairs(data, args.seed)

    def centred(pairs: list[tuple[str, str]]) -> list[float]:
        out = []
        for q, t in pairs:
            qv, tv = emb.embed([q, t])
            out.append(_centred(base, qv, float(qv @ tv)))
        return out

    rel, unr = centred(related), centred(unrelated)
    for name, xs in (("related", rel), ("unrelated", unr)):
        p = np.percentile(xs, [5, 25, 50, 75, 95])
        print(
            f"{name:9} n={len(xs):5}  p5 {p[0]:.3f}  p25 {p[1]:.3f}  p50 {p[2]:.3f}  p75 {p[3]:.3f}  p95 {p[4]:.3f}"
        )
    lo, hi = round(float(np.percentile(unr, 75)), 3), round(float(np.percentile(rel, 75)), 3)
    print(f"scale: unrelated={lo} related={hi} doc_common={doc_common}")
    if args.write and args.embedder == "static":
        STATIC_SCALE_FILE.write_text(
            json.dumps(
                {
                    "source": f"bench/calibrate_vector.py on {Path(args.data).name}, seed {args.seed}",
                    "unrelated": lo,
                    "related": hi,
                    "doc_common": doc_common,
                    "common": list(common),
                }
            )
            + "\n"
        )
        print(f"wrote {STATIC_SCALE_FILE}")
    return 0


def _centred(scale: Any, qvec: np.ndarray, cos: float) -> float:
    """The centred cosine itself (before the linear map), from the scale's formula."""
    import math

    q_c = (
        float(qvec[: len(scale.common)] @ np.asarray(scale.common, dtype=np.float32)) if scale.common else 0.0
    )
    denom = math.sqrt(max(1e-6, 1 - q_c * q_c)) * math.sqrt(max(1e-6, 1 - scale.doc_common**2))
    return (cos - q_c * scale.doc_common) / denom


if __name__ == "__main__":
    raise SystemExit(main())
