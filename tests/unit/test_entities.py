"""Rule-based entity and relation extraction (English and Chinese) and name normalization."""

from __future__ import annotations

import pytest

from memos.governance.entities import extract, extract_entities, extract_relations, normalize_name


def names(text: str) -> dict[str, str]:
    return {m.name: m.type for m in extract_entities(text)}


def rels(text: str) -> set[tuple[str, str, str]]:
    return {(r.subject.name, r.predicate, r.object.name) for r in extract_relations(text)}


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ana", "ana"),
        ("ANA", "ana"),
        ("Ana's", "ana"),
        ("Ana’s", "ana"),
        ("Dr. Ana Silva", "ana silva"),
        ("Mr Bob  Stone", "bob stone"),
        ("  Porto. ", "porto"),
    ],
)
def test_names_normalize_case_possessive_and_titles(raw, normalized):
    assert normalize_name(raw) == normalized


def test_multiword_names_places_and_people_with_types():
    found = names("Yesterday we visited Fushimi Inari in Kyoto with Dr. Ana Silva.")
    assert found == {"Fushimi Inari": "place", "Kyoto": "place", "Ana Silva": "person"}


def test_orgs_emails_and_handles():
    found = names("Tom works at Acme Corp; write to tom@acme.io or ping @tom_dev.")
    assert found == {"Tom": "person", "Acme Corp": "org", "tom@acme.io": "contact", "@tom_dev": "contact"}


def test_sentence_initial_words_are_names_only_with_a_cue_or_when_known():
    assert names("Tomorrow is busy. Ana's cat is cute.") == {}
    assert names("Ana lives in Porto.") == {"Ana": "person", "Porto": "place"}
    assert {m.name for m in extract_entities("Ana's cat is cute.", known={"ana"})} == {"Ana"}
    unsure = [m for m in extract("Ana's cat is cute.")[0]]
    assert [(m.normalized, m.confident) for m in unsure] == [("ana", False)]


def test_pronouns_weekdays_and_greetings_are_not_entities():
    assert names("Hi, I think we meet on Monday. OK, thanks!") == {}


def test_english_relations():
    assert rels("My sister Ana lives in Porto.") == {("user", "sister", "Ana"), ("Ana", "lives_in", "Porto")}
    assert rels("Ana is Bob's sister.") == {("Bob", "sister", "Ana")}
    assert rels("Carla is my boss. Carla works at Globex.") == {
        ("user", "boss", "Carla"),
        ("Carla", "works_at", "Globex"),
    }
    assert rels("I work at Initech and I live in Lisbon.") == {
        ("user", "works_at", "Initech"),
        ("user", "lives_in", "Lisbon"),
    }
    assert rels("My dad moved to Vienna.") == set()  # no name for "dad": nothing invented


def test_chinese_names_after_cues_and_relations():
    text = "我的朋友小明在腾讯工作。我妹妹小红住在上海。我喜欢《三体》。"
    assert names(text) == {
        "小明": "person",
        "腾讯": "org",
        "小红": "person",
        "上海": "place",
        "三体": "thing",
    }
    assert rels(text) == {
        ("user", "friend", "小明"),
        ("小明", "works_at", "腾讯"),
        ("user", "sister", "小红"),
        ("小红", "lives_in", "上海"),
    }
    assert rels("我在阿里巴巴工作，住在杭州附近。") == {
        ("user", "works_at", "阿里巴巴"),
        ("user", "lives_in", "杭州"),
    }


def test_mentions_in_one_text_are_deduplicated_with_the_best_type():
    found = extract_entities("I met Ana at the park. Later my sister Ana called.")
    assert [(m.name, m.type) for m in found] == [("Ana", "person")]


def test_query_ngrams_hold_word_runs_without_lone_stopwords_and_cjk_substrings() -> None:
    from memos.governance.entities.lookup import query_ngrams

    grams = query_ngrams("Where does Ana Silva live?")
    assert "ana silva" in grams and "ana" in grams
    assert "where" not in grams  # a stopword alone names nothing
    assert "where does" in grams  # longer runs are kept: an entity may contain a stopword
    cjk = query_ngrams("小美住哪")
    assert {"小美", "住哪", "小美住哪"} <= set(cjk) and "小" not in cjk


def _types(text: str) -> dict[str, str]:
    return {m.name: m.type for m in extract_entities(text)}


def test_products_after_a_place_preposition_are_not_places():
    # written like a product (inner capitals), whatever the cue
    assert _types("Our data lives in PostgreSQL now.") == {"PostgreSQL": "thing"}
    assert _types("We stored the logs in BigQuery.") == {"BigQuery": "thing"}
    # after a technical verb or object
    assert _types("We migrated the warehouse to Snowflake last month.") == {"Snowflake": "thing"}
    assert _types("Then we query it from Python.") == {"Python": "thing"}


def test_places_after_motion_and_residence_stay_places():
    assert _types("I moved to Lisbon in May.") == {"Lisbon": "place"}
    assert _types("Last year we flew to New York.") == {"New York": "place"}


def test_plural_weekdays_and_months_are_not_entities():
    assert _types("We meet on Fridays and in Junes it rains.") == {}


def test_identifier_prefixes_are_not_entities():
    assert _types("Please review PAY-1234 and PAY-88 before Q3.") == {}
    assert _types("Then Ana closed PAY-7.") == {"Ana": "thing"}
