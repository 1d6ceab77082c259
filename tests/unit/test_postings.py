from memos.store.postings import K1, B, of_terms, term_impacts


def test_term_impacts_are_okapi_bm25_frequency_parts_in_order_of_first_use():
    words = ["dog", "walk", "dog", "park", "dog", "walk", "rain"]
    avgdl = 5.5
    norm = K1 * (1 - B + B * len(words) / avgdl)
    expected = [
        (t, round(tf * (K1 + 1) / (tf + norm), 4))
        for t, tf in (("dog", 3), ("walk", 2), ("park", 1), ("rain", 1))
    ]
    assert term_impacts(words, avgdl) == expected
    assert of_terms("m", words, avgdl) == [("m", t, i) for t, i in expected]  # type: ignore[arg-type]
    assert term_impacts([], avgdl) == []
