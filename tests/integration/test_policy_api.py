"""GET/PUT /v1/policy: effective policy, partial overrides, validation, scopes, audit."""

from __future__ import annotations

from memos.governance import policy_store
from memos.governance.policy import DEFAULT_POLICY
from tests.conftest import Api, make_key


def audit_rows(db_conn, ns):
    return db_conn.execute(
        "SELECT * FROM audit_events WHERE namespace = %s AND action = 'policy_change' ORDER BY id", (ns,)
    ).fetchall()


def test_get_returns_the_defaults_for_a_new_namespace(api, ns):
    status, body, headers = api.call("GET", f"/v1/policy?namespace={ns}")
    assert status == 200 and headers["x-request-id"]
    assert body["policy"] == DEFAULT_POLICY.model_dump(mode="json")
    assert body["overridden"] == [] and body["version"] == 0 and body["updated_at"] is None


def test_a_partial_put_overrides_only_its_keys(api, ns, db_conn):
    status, body, _ = api.call(
        "PUT",
        "/v1/policy",
        {"namespace": ns, "settings": {"condense_after_turns": 5, "weights": {"entity": 0.2}}},
    )
    assert status == 200, body
    assert body["policy"]["condense_after_turns"] == 5
    assert body["policy"]["weights"] == {**DEFAULT_POLICY.weights.model_dump(), "entity": 0.2}
    status, body, _ = api.call(
        "PUT", "/v1/policy", {"namespace": ns, "settings": {"weights": {"vector": 0.5}}}
    )
    assert status == 200
    status, body, _ = api.call("GET", f"/v1/policy?namespace={ns}")
    assert body["policy"]["weights"]["entity"] == 0.2 and body["policy"]["weights"]["vector"] == 0.5
    assert body["policy"]["l1_window_size"] == DEFAULT_POLICY.l1_window_size
    assert body["overridden"] == ["condense_after_turns", "weights.entity", "weights.vector"]
    assert body["version"] == 2 and body["updated_at"]
    assert policy_store.get_policy(ns).condense_after_turns == 5  # the domain reads the same


def test_invalid_puts_are_422_and_change_nothing(api, ns, db_conn):
    api.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"l1_window_size": 30}})
    before = api.call("GET", f"/v1/policy?namespace={ns}")[1]
    audits = len(audit_rows(db_conn, ns))
    for settings, field in [
        ({"l1_window_size": 0}, "settings.l1_window_size"),
        ({"conflict_mode": "delete_everything"}, "settings.conflict_mode"),
        ({"no_such_key": 1}, "settings.no_such_key"),
        ({"weights": {"bogus": 1.0}}, "settings.weights.bogus"),
        ({"ttl_days": {"episodic": -3}}, "settings.ttl_days.episodic"),
        ({"l1_window_size": 25, "dedup_threshold": 2}, "settings.dedup_threshold"),
    ]:
        status, body, _ = api.call("PUT", "/v1/policy", {"namespace": ns, "settings": settings})
        assert status == 422, settings
        assert body["error"]["code"] == "validation_error"
        assert field in [d["field"] for d in body["error"]["details"]], body
    for bad_body in [
        {"namespace": ns, "settings": {}},
        {"namespace": ns},
        {"namespace": "bad ns", "settings": {"l1_window_size": 3}},
    ]:
        status, body, _ = api.call("PUT", "/v1/policy", bad_body)
        assert status == 422 and body["error"]["details"]
    assert api.call("PUT", "/v1/policy", raw=b"{nope")[0] == 400
    assert api.call("GET", f"/v1/policy?namespace={ns}")[1] == before
    assert len(audit_rows(db_conn, ns)) == audits


def test_put_needs_admin_and_get_needs_the_namespace(api, ns, db_conn):
    writer = Api(make_key(["memory:read", "memory:write"], [ns]))
    status, body, _ = writer.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"l1_window_size": 3}})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert writer.call("GET", f"/v1/policy?namespace={ns}")[1]["overridden"] == []
    assert audit_rows(db_conn, ns) == []
    outsider = Api(make_key(["admin"], [ns + "-elsewhere"]))
    assert outsider.call("GET", f"/v1/policy?namespace={ns}")[0] == 403
    assert outsider.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"l1_window_size": 3}})[0] == 403
    assert api.call("GET", f"/v1/policy?namespace={ns}")[1]["overridden"] == []
    assert api.call("GET", "/v1/policy")[0] == 422  # namespace is required


def test_every_change_is_audited_with_before_and_after(api, ns, db_conn):
    api.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"pii_redaction": True}})
    api.call("PUT", "/v1/policy", {"namespace": ns, "settings": {"default_token_budget": 800}})
    first, second = audit_rows(db_conn, ns)
    assert first["details"] == {"before": {}, "after": {"pii_redaction": True}}
    assert second["details"] == {
        "before": {"pii_redaction": True},
        "after": {"pii_redaction": True, "default_token_budget": 800},
    }
    assert second["actor"] and second["request_id"]
