import numpy as np

from memos.embeddings import HashingEmbedder, cosine


def test_hashing_embedder_is_deterministic_and_normalised():
    emb = HashingEmbedder(384)
    a = emb.embed(["Maya is allergic to peanuts", "Maya is allergic to peanuts"])
    assert a.shape == (2, 384)
    assert np.allclose(a[0], a[1])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_related_texts_are_closer_than_unrelated():
    emb = HashingEmbedder(384)
    q, related, unrelated = emb.embed(
        [
            "Which allergies does she have?",
            "She is allergic to peanuts and has allergies to shellfish",
            "The payments migration deadline is in May",
        ]
    )
    assert cosine(q, related) > cosine(q, unrelated) + 0.1


def test_word_pieces_carry_meaning_across_inflections():
    emb = HashingEmbedder(384)
    a, b, c = emb.embed(["photography classes", "photographer class", "quarterly revenue"])
    assert cosine(a, b) > 0.2
    assert cosine(a, c) < 0.1


def test_text_without_content_words_still_gets_a_valid_vector():
    v = HashingEmbedder(64).embed(["the and of", "!!!"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
