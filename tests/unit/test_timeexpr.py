from datetime import UTC, datetime

import pytest

from memos.retrieval.timeexpr import parse_time_range

NOW = datetime(2024, 3, 14, 15, 0, tzinfo=UTC)  # a Thursday


def d(y, m, day):
    return datetime(y, m, day, tzinfo=UTC)


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("What did Ana do in May 2023?", d(2023, 5, 1), d(2023, 6, 1)),
        ("What happened on 8 May 2023?", d(2023, 5, 8), d(2023, 5, 9)),
        ("Where was he on May 8th, 2023?", d(2023, 5, 8), d(2023, 5, 9)),
        ("Anything from 2023-05-08?", d(2023, 5, 8), d(2023, 5, 9)),
        ("What did we plan during 2022?", d(2022, 1, 1), d(2023, 1, 1)),
        ("Which trips happened in December?", d(2024, 12, 1), d(2025, 1, 1)),
        ("What did I eat yesterday?", d(2024, 3, 13), d(2024, 3, 14)),
        ("What did she do last week?", d(2024, 3, 4), d(2024, 3, 11)),
        ("What did we decide last month?", d(2024, 2, 1), d(2024, 3, 1)),
        ("Who visited last year?", d(2023, 1, 1), d(2024, 1, 1)),
        ("What did Rui cook last Friday?", d(2024, 3, 8), d(2024, 3, 9)),
        ("Today is 20 June 2023. What did Umar do last week?", d(2023, 6, 12), d(2023, 6, 19)),
    ],
)
def test_time_expressions_become_ranges(question, start, end):
    r = parse_time_range(question, NOW)
    assert r is not None and (r.start, r.end) == (start, end)


def test_ago_is_a_window_around_the_point():
    r = parse_time_range("What happened two weeks ago?", NOW)
    assert r is not None and r.contains(d(2024, 2, 29)) and not r.contains(d(2024, 3, 14))


@pytest.mark.parametrize(
    "question",
    ["What is my favourite colour?", "How many cats does she have?", "What did May say about the project?"],
)
def test_questions_without_time_get_none(question):
    assert parse_time_range(question, NOW) is None


def test_distance_outside_the_range():
    r = parse_time_range("in May 2023", NOW)
    assert r is not None and r.distance_days(d(2023, 5, 20)) == 0 and r.distance_days(d(2023, 6, 11)) == 10
