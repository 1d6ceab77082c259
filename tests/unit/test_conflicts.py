import pytest

from memos.memory.conflicts import fact_key, key_words, memory_fact_key


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


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("I live in Paris", "Actually I live in Berlin now"),
        ("I work as a nurse.", "I work as a paramedic now, I switched careers."),
        ("My favorite food is ramen.", "Oh, my favourite food is pho these days."),
        ("My flight is on May 3.", "My flight is on May 5 now."),
        ("I am 31 years old", "I'm 32 years old"),
        # other ways people say where they live, what they do, how old they are
        ("We live in Lyon", "We moved to Porto last month"),
        ("I've been living in Leeds since 2019.", "These days I live in York"),
        ("I'm based in Oslo", "Just moved to Bergen, still unpacking."),
        ("I live in Graz", "We finally moved into our new flat in Vienna!"),
        ("I work as a nurse.", "I started a new job as a paramedic"),
        ("I'm working as a barista", "I just started working as a chef"),
        ("I work at Acme", "I just landed a job with Globex!"),
        ("I'm 34", "I just turned 35"),
        ("I work as a baker", "Good news, from June I'll be working as a pastry chef"),
        ("I work as a clerk", "I'm the new treasurer at the rowing club!"),
        ("I work as a clerk", "The city library hired me as an archivist"),
        ("My address is 1 High St", "My new address is 5 Main St"),
    ],
)
def test_a_users_turn_stating_a_single_valued_fact_gets_the_same_key_as_its_new_value(earlier, later):
    a = memory_fact_key(earlier, "episodic", "user", {})
    assert a is not None and a == memory_fact_key(later, "episodic", "user", {})


@pytest.mark.parametrize(
    "text",
    [
        "My phone is dying, brb.",  # "phone" is not a single-valued attribute
        "My flight is delayed.",  # a plan without a date
        "My sister is visiting next week.",
        "We finally moved into our new apartment!",
        "I live in Paris. I love the food. The metro is great.",  # a long turn is not one fact
        "I lived in Paris for years.",  # the past, not where I live
        "I almost moved to Rome once.",
        "Moved to the couch, so comfy.",
        "I'm 10 min late, sorry!",
        "I got a job offer at Acme",  # an offer is not the job
        "We moved to the next topic",  # a move is to a place with a name
        "I moved to a new team last week",
        "We've been living in fear of the exam",
        "I live in the city center",  # where in town, not which town
        "I'm the new guy at the gym",  # new somewhere, not a job
    ],
)
def test_chatter_in_turns_gets_no_key(text):
    assert memory_fact_key(text, "episodic", "user", {}) is None


def test_turn_keys_belong_to_the_speaker_and_never_to_the_assistant():
    ana = memory_fact_key("I live in Lisbon", "episodic", "user", {"speaker": "Ana"})
    bruno = memory_fact_key("I live in Porto", "episodic", "user", {"speaker": "Bruno"})
    assert ana == "ana|home city" and bruno == "bruno|home city"
    assert memory_fact_key("I live in Lisbon", "episodic", "assistant", {}) is None


def test_key_words_say_what_a_fact_is_about_in_a_questions_words():
    assert "live" in key_words("user|home city").split() and "city" in key_words("ana|home city").split()
    assert "work" in key_words("user|employer").split() and "job" in key_words("user|job").split()
    assert "love" in key_words("user|favorite food").split() and "food" in key_words("user|favorite food")
    assert key_words("user|flight") == "flight" and key_words(None) == ""


def test_key_words_go_only_to_facts_about_the_user_or_someone_the_question_names():
    asked = {"where", "does", "jonas", "live"}
    assert key_words("jonas|home city", asked) and key_words("user|home city", asked)
    assert key_words("umar|home city", asked) == ""
