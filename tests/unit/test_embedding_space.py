"""Which embedder serves memories.embedding: the configured one when it fits the column, else the
recorded one (a dimension change in progress, or an old configuration after the switch)."""

import pytest

from memos.embeddings.space import resolve
from memos.kernel.config import Settings
from memos.kernel.errors import DependencyUnavailable

STATIC_256 = Settings(embedder="static", embed_dim=256)
HASHING_384 = Settings(embedder="hashing", embed_dim=384)


def test_the_configured_embedder_serves_a_column_of_its_dimension():
    assert resolve({"dim": 256, "active": "hashing:256"}, STATIC_256) == "static:256"


def test_a_column_of_another_dimension_is_served_by_the_recorded_embedder():
    assert resolve({"dim": 256, "active": "static:256"}, HASHING_384) == "static:256"
    assert resolve({"dim": 384, "active": "hashing:384"}, STATIC_256) == "hashing:384"


def test_without_a_record_the_rows_say_which_embedder_made_them():
    assert resolve({"dim": 256, "active": None}, HASHING_384, lambda: "static:256") == "static:256"


def test_an_unknown_embedder_of_another_dimension_is_a_503_naming_the_fix():
    with pytest.raises(DependencyUnavailable, match="memos reembed") as err:
        resolve({"dim": 256, "active": None}, HASHING_384)
    assert err.value.status == 503
