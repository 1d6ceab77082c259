import pytest

from memos.memory.conflicts import fact_key


@pytest.mark.parametrize(
    "a, b",
    [
        ("My phone number is 555-0100", "my phone number is 555-0199."),
        ("I live in Lisbon", "I moved to Porto"),
        ("I work at Acme", "I now work for Globex"),
        ("Ana's birthday is May 3", "Ana's birthday is June 4"),
        ("My favourite color is blue", "My favorite color is green"),
        ("我住在北京", "我现在住在上海"),
    ],
)
def test_statements_about_the_same_attribute_share_a_key(a, b):
    assert fact_key(a) is not None and fact_key(a) == fact_key(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("My phone number is 555-0100", "My email is a@b.c"),
        ("Ana lives in Porto", "Rui lives in Porto"),
        ("I live in Lisbon", "I work at Lisbon Labs"),
    ],
)
def test_different_subjects_or_attributes_do_not_conflict(a, b):
    assert fact_key(a) != fact_key(b)


@pytest.mark.parametrize("text", ["I like jazz", "We went hiking", "ok thanks", "Is my flight on time?"])
def test_statements_that_are_not_single_valued_get_no_key(text):
    assert fact_key(text) is None
