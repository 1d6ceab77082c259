from memos.kernel.text import (
    content_hash,
    content_terms,
    content_terms_and_indexed,
    content_terms_many,
    indexed_text,
    stem,
    words,
)
from memos.kernel.tokens import count_tokens


def test_content_hash_ignores_case_and_whitespace_but_not_words():
    assert content_hash("I like  Tea") == content_hash("i like tea")
    assert content_hash("I like tea") != content_hash("I like coffee")


def test_stem_meets_inflections_and_keeps_short_words():
    assert stem("hiking") == stem("hikes") == stem("hike") == "hike"
    assert stem("move") == stem("moved") == stem("moving") == "move"
    assert stem("cats") == "cat"
    assert stem("bus") == "bus"  # too short to strip
    assert content_terms("The dogs were running") == ["dog", "run"]


def test_token_count_tracks_words_punctuation_and_cjk():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("internationalization") == 3  # long words cost more
    assert count_tokens("你好世界") == 4  # one token per CJK character
    assert count_tokens("Hi, Bob!") == 4


def test_content_terms_many_stems_each_text_like_content_terms():
    texts = ["I moved to Berlin", "Moving boxes, we're moving!", "", "我住在北京 and running", "the a of"]
    assert content_terms_many(texts) == [
        ["move", "berlin"],
        ["move", "box", "we'r", "move"],
        [],
        ["我", "住", "在", "北", "京", "run"],
        [],
    ]
    assert content_terms_many(texts) == [content_terms(t) for t in texts]
    assert content_terms_many([]) == []


def test_words_of_ascii_and_unicode_text_are_those_of_the_normalised_text():
    assert words("We're  MOVING\tto Berlin,\nok?") == ["we're", "moving", "to", "berlin", "ok"]
    assert words("Ｂｅｒｌｉｎ ２０２４") == ["berlin", "2024"]  # full-width letters and digits (NFKC)
    assert words("我住在北京 in 2024") == ["我", "住", "在", "北", "京", "in", "2024"]
    assert words("") == []


def test_terms_of_a_text_and_of_its_indexed_text_from_one_tokenisation():
    docs = [
        ("I moved to Berlin", {"speaker": "Ana Lee"}),
        ("I moved to Berlin", None),
        ("'s running", {"speaker": "O'"}),  # no word across the ": " between speaker and text
        ("ＡＢＣ café", {"speaker": "Zoë"}),  # NFKC on one side or both
        ("plain ascii", {"speaker": "Ｋａｔｅ"}),
        ("我住在北京", {"speaker": "李"}),
        ("\u0301e accent first", {"speaker": "Ana"}),
        ("the a of", {"speaker": "the"}),
        ("blank speaker", {"speaker": "  "}),
        ("not a string", {"speaker": 7}),
        ("", {"speaker": "Bo"}),
    ]
    own, indexed = content_terms_and_indexed(docs)
    assert own == [content_terms(text) for text, _ in docs]
    assert indexed == [content_terms(indexed_text(text, metadata)) for text, metadata in docs]
    assert indexed[0] == ["ana", "lee", "move", "berlin"]
    assert indexed[5] == ["李", "我", "住", "在", "北", "京"]
    assert indexed[8:10] == own[8:10] == [["blank", "speaker"], ["string"]]  # no speaker counted
    assert content_terms_and_indexed([]) == ([], [])
