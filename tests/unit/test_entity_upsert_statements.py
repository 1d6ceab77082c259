"""The entity upsert for evidence inserted in the same transaction is derived from the general one by
text replacement: if the general statement is reworded, the derivation must not silently fall back
to it (or to a half-replaced one)."""

from memos.store import entities


def test_the_new_evidence_upsert_appends_and_counts_without_comparing_ids():
    general, new = entities._UPSERT_ENTITIES, entities._UPSERT_ENTITIES_NEW_EVIDENCE
    assert general.count("x <> ALL(e.evidence)") == 2  # counted and merged with the comparison
    assert "<> ALL(" not in new
    assert "+ cardinality(EXCLUDED.evidence)," in new
    assert "SELECT e.evidence || EXCLUDED.evidence AS c" in new
    # Everything else is the same statement.
    assert new.split("ON CONFLICT")[0] == general.split("ON CONFLICT")[0]
    assert new.split("aliases = ARRAY")[1] == general.split("aliases = ARRAY")[1]
