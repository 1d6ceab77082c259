import numpy as np
import pytest

from memos.embeddings import cosine
from memos.embeddings.static import StaticEmbedder, basic_tokenize, load_table, tokenize, wordpiece


@pytest.fixture(scope="module")
def emb() -> StaticEmbedder:
    return StaticEmbedder()


def test_dimension_comes_from_the_shipped_file(emb):
    table = load_table()
    assert emb.dim == emb.native_dim == table.vectors.shape[1] == table.meta["dim"]
    assert len(table.tokens) == len(table.vectors) == table.meta["tokens"]
    assert not any(t.startswith("[unused") or t in ("[CLS]", "[SEP]", "[PAD]") for t in table.tokens)


def test_rows_are_deterministic_normalised_float32(emb):
    a = emb.embed(["Maya is allergic to peanuts", "Maya is allergic to peanuts", "Quarterly revenue"])
    assert a.shape == (3, emb.dim)
    assert a.dtype == np.float32
    assert np.array_equal(a[0], a[1])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a[0], StaticEmbedder().embed(["Maya is allergic to peanuts"])[0])


def test_related_words_are_closer_than_unrelated(emb):
    dog, puppy, invoice, job, career, banana = emb.embed(
        ["dog", "puppy", "invoice", "job", "career", "banana"]
    )
    assert cosine(dog, puppy) > cosine(dog, invoice) + 0.2
    assert cosine(job, career) > cosine(job, banana) + 0.2


def test_a_paraphrase_finds_the_turn_that_shares_no_word_with_it(emb):
    q, job, home = emb.embed(
        [
            "How does Umar earn a living these days?",
            "Umar: I start my new job as a nurse next week.",
            "Umar: We finally moved into our new apartment in Galway!",
        ]
    )
    assert cosine(q, job) > cosine(q, home)


def test_empty_and_unknown_texts_get_a_valid_vector(emb):
    out = emb.embed(["", "   ", "😀 🎉", "dog"])
    assert out.shape == (4, emb.dim)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert not np.isnan(out).any()
    assert emb.embed([]).shape == (0, emb.dim)


def test_other_dimensions_truncate_or_zero_pad():
    native = StaticEmbedder()
    texts = ["a dog in the park", "an invoice for March"]
    padded = StaticEmbedder(native.dim + 128).embed(texts)
    assert padded.shape == (2, native.dim + 128)
    assert np.allclose(padded[:, native.dim :], 0.0)
    assert np.allclose(padded[:, : native.dim], native.embed(texts), atol=1e-6)
    small = StaticEmbedder(64).embed(texts)
    assert small.shape == (2, 64)
    assert np.allclose(np.linalg.norm(small, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        StaticEmbedder(0)


def test_basic_tokenization_lowercases_strips_accents_splits_punctuation_and_cjk():
    assert basic_tokenize("Café, naïve—Zoë's!") == ["cafe", ",", "naive", "—", "zoe", "'", "s", "!"]
    assert basic_tokenize("東京 is\tbig") == ["東", "京", "is", "big"]
    assert basic_tokenize("x^2 a_b $5") == ["x", "^", "2", "a", "_", "b", "$", "5"]
    assert basic_tokenize("un\x01known") == ["unknown"]


def test_wordpiece_is_greedy_longest_match_first():
    assert load_table().row_of["dog"] >= 0
    assert wordpiece("dog") == ["dog"]
    assert wordpiece("invoice") == ["in", "##vo", "##ice"]
    assert wordpiece("unhappiness") == ["un", "##ha", "##pp", "##iness"]
    assert wordpiece("😀") == ["[UNK]"]
    assert wordpiece("a" * 101) == ["[UNK]"]
    assert tokenize("Playing paella, don't!") == ["playing", "pa", "##ella", ",", "don", "'", "t", "!"]


def _mean_by_reduceat(texts: list[str], dim: int) -> np.ndarray:
    """The text vectors as numpy's segmented sum gives them (what the stored vectors were made with)."""
    from memos.embeddings.static import wordpiece_rows

    vectors = load_table().vectors[:, :dim]
    out = np.zeros((len(texts), dim), dtype=np.float32)
    per_text = [[r for w in basic_tokenize(t) for r in wordpiece_rows(w)] for t in texts]
    filled = [i for i, rows in enumerate(per_text) if rows]
    starts = np.cumsum([0] + [len(per_text[i]) for i in filled[:-1]])
    counts = np.asarray([len(per_text[i]) for i in filled])
    flat = np.asarray([r for i in filled for r in per_text[i]])
    out[filled] = np.add.reduceat(vectors[flat], starts, axis=0) / counts[:, None]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms == 0, 1.0, norms)
    out[norms[:, 0] == 0, 0] = 1.0
    return out


def test_vectors_are_bit_identical_to_the_segmented_sum_for_texts_of_every_length():
    # Short (below 8 tokens), within one pairwise block (8-128), and split in halves (over 128).
    words = [
        "Maya",
        "adopted",
        "a",
        "puppy",
        "named",
        "Biscuit;",
        "the",
        "quarterly",
        "revenue",
        "grew",
        "by",
        "12%",
        "in",
        "Zürich",
        "東京",
    ]
    texts = [" ".join(words[: 1 + i % len(words)] * (1 + i // 4)) for i in range(120)]
    texts += ["", "!!!", "x" * 150, "Café naïve", " ".join(words * 40), " ".join(words * 151)]
    for dim in (256, 128):
        got = StaticEmbedder(dim).embed(texts)
        assert got.tobytes() == _mean_by_reduceat(texts, dim).tobytes()
        one_by_one = np.vstack([StaticEmbedder(dim).embed([t]) for t in texts])
        assert one_by_one.tobytes() == got.tobytes()
