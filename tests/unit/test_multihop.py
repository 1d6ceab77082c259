"""Multi-hop retrieval rules that need no database: splitting a question into its parts, the
relation cue that allows a bridge, and the bridges named by first-round rows."""

from __future__ import annotations

from uuid import uuid4

from memos.retrieval import multihop


def _row(text: str) -> dict:
    return {"id": uuid4(), "text": text, "metadata": {}, "vsim": 0.9}


def test_a_conjunctive_question_splits_into_its_parts():
    parts = multihop.split_question("Which city does Zoe live in, what food does Zoe love, and which hobby?")
    assert parts == ["Which city does Zoe live in", "what food does Zoe love", "which hobby? (Zoe)"]


def test_a_part_that_lost_the_name_gets_it_back():
    assert multihop.split_question("What does Zoe work as, and what is her dog called?") == [
        "What does Zoe work as",
        "what is her dog called? (Zoe)",
    ]


def test_a_single_question_with_and_inside_a_clause_is_not_split():
    question = "Where did Ana and Bruno go hiking?"
    assert multihop.split_question(question) == [question]


def test_the_relation_cue_names_a_kinship_or_workplace_through_someone():
    assert multihop._RELATION.search("Where does Zoe's cousin live now?")
    assert multihop._RELATION.search("Where does my old college roommate live?")
    assert multihop._RELATION.search("In which city is the company Zoe works for based?")
    assert not multihop._RELATION.search("What is the name of Zoe's dog?")
    assert not multihop._RELATION.search("When did I go to the dentist?")


def test_bridges_are_new_people_and_orgs_from_the_best_rows_never_the_asked_names_or_places():
    rows = [_row("My cousin Mia is visiting soon."), _row("Zoe moved to Lisbon with Acme Corp.")]
    bridges = multihop._bridges("Where does Zoe's cousin live?", rows)
    assert [name for name, _ in bridges] == ["mia", "acme corp"]
    assert bridges[0][1] is rows[0]  # the row that named the bridge caps its rows' similarity


def test_bridges_are_at_most_max_bridges():
    rows = [_row("Ana, Bruno and Carla met Dmitri and Elif.")]
    assert len(multihop._bridges("Who is my cousin?", rows)) == multihop.MAX_BRIDGES
