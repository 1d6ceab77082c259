import pydantic
import pytest

from memos.access.auth import KEY_CACHE_TTL_S, Identity, KeyCache, extract_key, validate_grants
from memos.governance.policy import DEFAULT_POLICY, merge
from memos.kernel.errors import BadRequest, Forbidden, Unauthorized
from memos.memory.importance import initial_importance


def test_policy_merge_overrides_nested_keys_and_keeps_defaults():
    p = merge({"l1_window_size": 5, "weights": {"vector": 1.0}})
    assert p.l1_window_size == 5
    assert p.weights.vector == 1.0
    assert p.weights.lexical == DEFAULT_POLICY.weights.lexical


@pytest.mark.parametrize(
    "bad",
    [
        {"l1_window_size": 0},
        {"dedup_threshold": 2},
        {"nope": 1},
        {"conflict_mode": "delete"},
        {"weights": {"magic": 1}},
    ],
)
def test_policy_rejects_bad_values(bad):
    with pytest.raises(pydantic.ValidationError):
        merge(bad)


def test_identity_namespaces_exact_and_prefix():
    who = Identity("k", frozenset({"memory:read"}), ("acme", "team-*"))
    assert who.can_see("acme") and who.can_see("team-blue")
    assert not who.can_see("acme2") and not who.can_see("other")
    who.authorize("memory:read", "team-x")
    with pytest.raises(Forbidden):
        who.authorize("memory:write", "acme")
    with pytest.raises(Forbidden):
        who.authorize("memory:read", "other")


def test_admin_scope_implies_the_others():
    who = Identity("k", frozenset({"admin"}), ("*",))
    who.authorize("ops:read", "anything")


def test_identity_round_trips_through_the_authorizer_context():
    who = Identity("k1", frozenset({"memory:read", "ops:read"}), ("a", "b*"))
    assert Identity.from_context(who.to_context()) == who
    with pytest.raises(Unauthorized):
        Identity.from_context(None)


def test_key_extraction_accepts_bearer_and_x_api_key():
    assert extract_key({"Authorization": "Bearer abc"}) == "abc"
    assert extract_key({"authorization": "bearer abc"}) == "abc"
    assert extract_key({"X-Api-Key": "xyz"}) == "xyz"
    assert extract_key({"Authorization": "Basic abc"}) is None
    assert extract_key({}) is None


def test_grants_are_validated():
    validate_grants(["memory:read"], ["acme", "team-*", "*"])
    with pytest.raises(BadRequest):
        validate_grants(["root"], ["acme"])
    with pytest.raises(BadRequest):
        validate_grants(["admin"], ["bad ns"])


def test_importance_uses_explicit_value_else_signals():
    assert initial_importance("anything", "user", "episodic", 0.9) == 0.9
    pref = initial_importance("I always prefer window seats", "user", "episodic", None)
    filler = initial_importance("ok thanks", "user", "episodic", None)
    assert pref > filler
    assert 0.05 <= filler <= pref <= 0.95


def _who(key_id: str) -> Identity:
    return Identity(key_id, frozenset({"memory:read"}), ("a",))


def test_key_cache_serves_a_valid_key_until_its_ttl_and_the_bound_is_at_most_5_s():
    assert KEY_CACHE_TTL_S <= 5
    cache = KeyCache()
    cache.put("h1", _who("k1"))
    assert cache.get("h1") == _who("k1")
    expired = KeyCache(ttl_s=0)
    expired.put("h1", _who("k1"))
    assert expired.get("h1") is None


def test_key_cache_forget_drops_the_key_and_never_caches_it_again():
    cache = KeyCache()
    cache.put("h1", _who("k1"))
    cache.put("h2", _who("k1"))  # the same key id under another hash (re-registered key)
    cache.put("h3", _who("k2"))
    cache.forget("k1")
    assert cache.get("h1") is None and cache.get("h2") is None
    cache.put("h1", _who("k1"))  # a lookup that raced the revocation
    assert cache.get("h1") is None
    assert cache.get("h3") == _who("k2")
