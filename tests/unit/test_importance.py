"""Current importance: decays by half-life from the last access, access helps with diminishing returns."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from memos.memory.importance import current, forget_after_days, reinforced

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_current_halves_every_half_life_without_access():
    assert current(0.6, NOW, 0, 30.0, NOW) == pytest.approx(0.6)
    assert current(0.6, NOW - timedelta(days=30), 0, 30.0, NOW) == pytest.approx(0.3)
    assert current(0.6, NOW - timedelta(days=60), 0, 30.0, NOW) == pytest.approx(0.15)


def test_a_future_since_does_not_raise_importance():
    assert current(0.6, NOW + timedelta(days=5), 0, 30.0, NOW) == pytest.approx(0.6)


def test_access_has_diminishing_returns_and_never_reaches_one():
    # 10 accesses close half the gap from 0.5 to the 0.9 ceiling; 15 accesses no longer reach ~1.0
    assert reinforced(0.5, 10) == pytest.approx(0.7)
    assert reinforced(0.53, 15) == pytest.approx(0.752)
    gains = [reinforced(0.5, n + 1) - reinforced(0.5, n) for n in range(20)]
    assert all(a > b for a, b in pairwise(gains))
    assert reinforced(0.5, 10_000) < 0.9


def test_explicit_importance_above_the_ceiling_is_kept():
    assert reinforced(0.95, 50) == 0.95


def test_reinforced_importance_decays_like_the_rest():
    assert current(0.5, NOW - timedelta(days=30), 10, 30.0, NOW) == pytest.approx(0.35)


def test_forget_after_days_is_when_current_crosses_the_floor():
    days = forget_after_days(0.4, 0, 30.0, 0.05)
    assert days == pytest.approx(90.0)  # 0.4 → 0.2 → 0.1 → 0.05
    assert forget_after_days(0.04, 0, 30.0, 0.05) == 0.0
    assert forget_after_days(0.4, 0, 30.0, 0.0) is None
