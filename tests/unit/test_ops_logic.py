"""Ops logic without a database: token figures, memory totals, the tool registry, read coverage."""

from __future__ import annotations

import uuid

from memos.access.auth import Identity
from memos.ops.procedural import registry, tool_from
from memos.ops.stats import STATUSES, figures, memory_counts, token_savings
from memos.ops.visible import Visible
from memos.store.ops import Scope


def test_figures_give_savings_and_compression_and_null_ratios_when_nothing_to_divide() -> None:
    f = figures(3, 400, 100)
    assert (f.saved, f.savings_ratio, f.compression_ratio) == (300, 0.75, 4.0)
    empty = figures(0, 0, 0)
    assert empty.savings_ratio is None and empty.compression_ratio is None


def test_memory_counts_total_live_by_kind_and_every_status() -> None:
    rows = [
        {"kind": "episodic", "state": "active", "n": 5},
        {"kind": "semantic", "state": "active", "n": 2},
        {"kind": "episodic", "state": "expired", "n": 4},
        {"kind": "semantic", "state": "superseded", "n": 1},
    ]
    counts = memory_counts(rows)
    assert counts.total == 7
    assert counts.by_kind == {"episodic": 5, "semantic": 2, "procedural": 0}
    assert counts.by_status == {"active": 7, "duplicate": 0, "superseded": 1, "expired": 4, "deleted": 0}
    assert list(counts.by_status) == list(STATUSES)


def test_token_savings_combine_packs_and_condensations() -> None:
    savings = token_savings({"n": 2, "tin": 1000, "tout": 250}, {"n": 1, "tin": 600, "tout": 150})
    assert savings.combined.count == 3
    assert (savings.combined.tokens_in, savings.combined.tokens_out) == (1600, 400)
    assert savings.combined.compression_ratio == 4.0


def _row(meta: dict, text: str = "how to deploy", namespace: str = "acme") -> dict:
    return {"id": uuid.uuid4(), "namespace": namespace, "text": text, "metadata": meta}


def test_a_tool_is_named_by_string_or_object_and_describes_itself_or_falls_back_to_the_text() -> None:
    by_name = tool_from(_row({"tool": "deploy"}))
    assert by_name is not None and (by_name.name, by_name.description) == ("deploy", "how to deploy")
    by_spec = tool_from(_row({"tool": {"name": "grep", "description": "search", "parameters": {"q": "str"}}}))
    assert by_spec is not None and (by_spec.description, by_spec.parameters) == ("search", {"q": "str"})
    assert tool_from(_row({"tool": ""})) is None
    assert tool_from(_row({})) is None


def test_the_newest_declaration_of_a_tool_name_wins_within_its_namespace() -> None:
    newest, older, elsewhere = (
        _row({"tool": "deploy"}, "v2"),
        _row({"tool": "deploy"}, "v1"),
        _row({"tool": "deploy"}, "other", "globex"),
    )
    tools = registry([newest, older, elsewhere])
    assert [(t.namespace, t.description) for t in tools] == [("acme", "v2"), ("globex", "other")]


def test_scope_sql_names_one_namespace_everything_or_the_grants_with_wildcards_escaped() -> None:
    assert Scope("acme", ("*",)).sql() == ("namespace = %s", ["acme"])
    assert Scope(None, ("*",)).sql("e.namespace") == ("TRUE", [])
    where, params = Scope(None, ("acme", "team_1*")).sql()
    assert where == "(namespace = ANY(%s) OR namespace LIKE ANY(%s))"
    assert params == [["acme"], ["team\\_1%"]]


def test_visible_covers_the_named_namespace_or_the_grant() -> None:
    who = Identity("k", frozenset({"ops:read"}), ("acme", "team-*"))
    assert Visible(None, who).contains("team-a") and not Visible(None, who).contains("globex")
    assert not Visible("acme", who).contains("team-a")
    assert not Visible(None, who).service_wide
    assert Visible(None, who).scope == Scope(None, ("acme", "team-*"))
