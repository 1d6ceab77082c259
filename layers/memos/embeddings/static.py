"""Static token embeddings distilled from all-MiniLM-L6-v2: meaning without a model runtime.

``data/static_minilm.npz`` holds one vector per WordPiece token of the model's uncased BERT
vocabulary (each token run alone through the full model, then PCA-projected;
``bench/distill_static.py`` builds it, its JSON sidecar says how and when). A text's vector is the
mean of its tokens' vectors, L2-normalised: numpy and pure-Python tokenization only, exactly the
model's tokenization. Words the hashing embedder cannot relate ("puppy"/"dog", "job"/"career")
land close here.

Cosine scale: the token vectors keep their common (uncentred) part, which ranks best, so unrelated
texts still score about 0.8 and near-duplicate thresholds made for ``HashingEmbedder`` (0.95) are too
low for these vectors. Retrieval removes that common direction with a fixed scale measured once
(``memos.embeddings.calibration``, ``data/static_minilm_scale.json``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from memos.embeddings.calibration import static_scale

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "static_minilm.npz"
MAX_WORD_CHARS = 100  # as BERT's WordPiece: a longer "word" is unknown
_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StaticTable(NamedTuple):
    vectors: np.ndarray  # (tokens, native_dim) float32
    tokens: list[str]  # row -> token
    row_of: dict[str, int]  # token -> row
    meta: dict[str, object]


@lru_cache(maxsize=1)
def load_table(path: Path = DATA_FILE) -> StaticTable:
    """The distilled vectors and vocabulary, read once per process."""
    with np.load(path, allow_pickle=False) as data:
        vectors = np.asarray(data["vectors"], dtype=np.float32)
        tokens = data["vocab"].tobytes().decode("utf-8").split("\n")
    if len(tokens) != len(vectors):
        raise ValueError(f"{path}: {len(tokens)} tokens for {len(vectors)} vectors")
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return StaticTable(vectors, tokens, {tok: i for i, tok in enumerate(tokens)}, meta)


# --- BERT basic tokenization (uncased) --------------------------------------------------------------


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True  # BERT counts all non-alphanumeric ASCII (such as $ ^ `) as punctuation
    return unicodedata.category(ch).startswith("P")


def _clean_unicode(text: str) -> str:
    """Strip accents, drop control characters, space out CJK characters and punctuation."""
    out = []
    for ch in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(ch)
        if cat == "Mn" or ch in ("\x00", "\ufffd"):
            continue
        if ch in "\t\n\r" or cat == "Zs":
            out.append(" ")
        elif cat.startswith("C"):
            continue
        elif _is_cjk(ord(ch)) or _is_punct(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out)


def basic_tokenize(text: str) -> list[str]:
    """BERT's BasicTokenizer with lower-casing: words, punctuation and CJK characters apart."""
    text = text.lower()
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return _ASCII_PUNCT.sub(r" \1 ", text).split()
    return _clean_unicode(text).split()


# --- WordPiece ----------------------------------------------------------------------------------------


@lru_cache(maxsize=100_000)
def wordpiece_rows(word: str) -> tuple[int, ...]:
    """Rows of the greedy longest-match-first WordPiece pieces of one word; () if it has none."""
    row_of = load_table().row_of
    if len(word) > MAX_WORD_CHARS:
        return ()
    rows = []
    start = 0
    while start < len(word):
        end = len(word)
        row = None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            row = row_of.get(piece)
            if row is not None:
                break
            end -= 1
        if row is None:
            return ()  # BERT maps the whole word to [UNK], which carries no meaning
        rows.append(row)
        start = end
    return tuple(rows)


def wordpiece(word: str) -> list[str]:
    """The WordPiece tokens of one basic token (for inspection and tests); ["[UNK]"] if none."""
    tokens = load_table().tokens
    rows = wordpiece_rows(word)
    return [tokens[r] for r in rows] if rows else ["[UNK]"]


def tokenize(text: str) -> list[str]:
    """The full uncased BERT tokenization of a text, without [CLS]/[SEP]."""
    return [piece for word in basic_tokenize(text) for piece in wordpiece(word)]


# --- embedders ----------------------------------------------------------------------------------------


class StaticEmbedder:
    """Mean of distilled token vectors, L2-normalised float32 rows.

    ``dim`` defaults to the file's (``native_dim``). A smaller ``dim`` keeps the leading principal
    components; a larger one pads with zeros (cosines unchanged), so the vectors fit a store made
    for another dimension such as the default 384.
    """

    def __init__(self, dim: int | None = None) -> None:
        table = load_table()
        self.native_dim = int(table.vectors.shape[1])
        self.dim = self.native_dim if dim is None else int(dim)
        if self.dim < 1:
            raise ValueError("dim must be positive")
        self._vectors = table.vectors[:, : self.dim]
        self.cosine_scale = static_scale()  # measured once: bench/calibrate_vector.py

    def embed(self, texts: list[str]) -> np.ndarray:
        width = min(self.dim, self.native_dim)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        per_text = [[row for word in basic_tokenize(text) for row in wordpiece_rows(word)] for text in texts]
        filled = [i for i, rows in enumerate(per_text) if rows]
        if filled:
            sums, counts = self._sums([per_text[i] for i in filled])
            out[filled, :width] = sums / counts[:, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        empty = norms[:, 0] == 0
        if empty.any():  # no known token: still a valid (non-zero) vector, as HashingEmbedder gives
            out[empty, 0] = 1.0
        return out

    def _sums(self, per_text: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's token vectors summed, and its token count: ``np.add.reduceat`` over the
        gathered rows, bit for bit, without its slow segment-by-segment loop. numpy reduces a segment
        of n rows as its first row plus the pairwise sum of the other n - 1 (``_pairwise``); the
        texts with as many tokens take the same additions, so each group of them is summed at once."""
        counts = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        sums = np.empty((len(per_text), self._vectors.shape[1]), dtype=np.float32)
        by_count: dict[int, list[int]] = defaultdict(list)
        for i, n in enumerate(counts.tolist()):
            by_count[n].append(i)
        for n, members in by_count.items():
            # (n, texts, dim): the texts' k-th tokens' vectors in row k
            rows = self._vectors[np.asarray([per_text[i] for i in members], dtype=np.intp).T]
            sums[members] = rows[0] + _pairwise(rows[1:]) if n > 1 else rows[0]
        return sums, counts


_PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE


def _pairwise(rows: np.ndarray) -> np.ndarray:
    """numpy's pairwise summation of ``rows`` along the first axis (``pairwise_sum`` in its
    loops_utils), the same float32 additions in the same order: a plain loop from zero below 8 rows,
    eight running sums up to the block size, halves (a multiple of 8) above it."""
    n = len(rows)
    if n < 8:
        acc = np.zeros(rows.shape[1:], dtype=rows.dtype)
        for row in rows:
            acc += row
        return acc
    if n <= _PAIRWISE_BLOCK:
        r = rows[:8].copy()
        whole = n - n % 8
        for i in range(8, whole, 8):
            r += rows[i : i + 8]
        acc = (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
        for row in rows[whole:]:
            acc += row
        return acc
    half = n // 2
    half -= half % 8
    return _pairwise(rows[:half]) + _pairwise(rows[half:])
