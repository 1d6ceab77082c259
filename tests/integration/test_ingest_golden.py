"""Ingest outcomes for a fixed set of batches, written out in full: whatever makes ingest faster
must give these same statuses, links, audit events, entities and statistics (same inputs, same
outcomes). The expected values were checked by hand against the rules in ``memos.memory.ingest``."""

from __future__ import annotations

from typing import Any

from memos.memory.ingest import ingest
from memos.models import IngestItem


def _items(rows: list[tuple[str, str, str, str]]) -> list[IngestItem]:
    return [
        IngestItem.model_validate({"session_id": s, "role": r, "kind": k, "text": t}) for s, r, k, t in rows
    ]


BATCH_1 = [  # (session, role, kind, text)
    ("s1", "user", "episodic", "My sister Ana Silva lives in Porto."),  # 0 created
    ("s1", "user", "episodic", "Ana works at Acme Corp."),  # 1 created
    ("s1", "user", "episodic", "My sister Ana Silva lives in Porto."),  # 2 exact repeat of 0
    ("s2", "user", "episodic", "My sister Ana Silva lives in Porto."),  # 3 other session: created
    ("s1", "user", "episodic", "The deployment pipeline failed on the integration tests step"),  # 4 created
    (
        "s1",
        "user",
        "episodic",
        "The deployment pipeline failed on the integration tests step!!",
    ),  # 5 near dup of 4
    ("s1", "user", "semantic", "Customer prefers invoices by post"),  # 6 created
    ("s2", "user", "semantic", "customer prefers   invoices by post"),  # 7 exact (namespace-wide) of 6
    ("s1", "user", "episodic", "My favourite colour is green."),  # 8 created (a fact key)
    ("s1", "user", "episodic", "My favourite colour is blue."),  # 9 supersedes 8
    ("s1", "assistant", "episodic", "ok"),  # 10 created
]
BATCH_2 = [
    ("s1", "user", "episodic", "Ana works at Acme Corp."),  # 0 exact of batch 1 item 1
    ("s1", "user", "episodic", "My favourite colour is red."),  # 1 supersedes batch 1 item 9
    ("s3", "user", "semantic", "Customer prefers invoices by post"),  # 2 exact of batch 1 item 6
    ("s3", "user", "episodic", "We met Ana at the harbour in Porto."),  # 3 created
    ("s1", "user", "episodic", "Ana works at Acme Corp."),  # 4 exact of batch 1 item 1 again
]


def _statuses(response: Any) -> list[tuple[str, Any, Any]]:
    return [(m.status, m.duplicate_of, m.supersedes) for m in response.memories]


def test_a_fixed_batch_gives_the_same_outcomes_statuses_audit_and_entities(ns, db_conn):
    first = ingest(ns, _items(BATCH_1), actor="golden")
    ids = [m.memory_id for m in first.memories]
    assert first.accepted == 11
    assert _statuses(first) == [
        ("created", None, None),
        ("created", None, None),
        ("duplicate", ids[0], None),
        ("created", None, None),
        ("created", None, None),
        ("duplicate", ids[4], None),
        ("created", None, None),
        ("duplicate", ids[6], None),
        ("created", None, None),
        ("superseded", None, ids[8]),
        ("created", None, None),
    ]
    assert ids[2] == ids[0] and ids[7] == ids[6]  # an exact duplicate is the original
    assert ids[5] != ids[4]  # a near duplicate is stored, linked

    second = ingest(ns, _items(BATCH_2), actor="golden")
    ids2 = [m.memory_id for m in second.memories]
    assert _statuses(second) == [
        ("duplicate", ids[1], None),
        ("superseded", None, ids[9]),
        ("duplicate", ids[6], None),
        ("created", None, None),
        ("duplicate", ids[1], None),
    ]

    rows = {
        r["id"]: r
        for r in db_conn.execute(
            "SELECT id, session_id, turn_no, status, duplicate_of, superseded_by, seen_count, importance,"
            " decay_half_life, decay_floor FROM memories WHERE namespace = %s",
            (ns,),
        ).fetchall()
    }
    assert len(rows) == 11  # 9 stored from batch 1 (the two exact repeats are not), 2 from batch 2
    expect = {  # (session, turn, status, duplicate_of, superseded_by, times seen: 1 + exact repeats)
        ids[0]: ("s1", 1, "active", None, None, 2),
        ids[1]: ("s1", 2, "active", None, None, 2),  # seen again by batch 2 (twice, counted once)
        ids[3]: ("s2", 1, "active", None, None, 1),
        ids[4]: ("s1", 3, "active", None, None, 1),
        ids[5]: ("s1", 4, "duplicate", ids[4], None, 1),
        ids[6]: ("s1", 5, "active", None, None, 3),
        ids[8]: ("s1", 6, "superseded", None, ids[9], 1),
        ids[9]: ("s1", 7, "superseded", None, ids2[1], 1),
        ids[10]: ("s1", 8, "active", None, None, 1),
        ids2[1]: ("s1", 9, "active", None, None, 1),
        ids2[3]: ("s3", 1, "active", None, None, 1),
    }
    assert {
        i: (
            r["session_id"],
            r["turn_no"],
            r["status"],
            r["duplicate_of"],
            r["superseded_by"],
            r["seen_count"],
        )
        for i, r in rows.items()
        if i in expect
    } == expect
    # Importance at ingest (role, kind and content signals) and the decay plan of the default policy.
    assert {i: rows[i]["importance"] for i in (ids[0], ids[6], ids[8], ids[10])} == {
        ids[0]: 0.53,  # episodic 0.40 + user 0.08 + "my" 0.05
        ids[6]: 0.68,  # semantic 0.60 + user 0.08 ("prefers" is not the signal word "prefer")
        ids[8]: 0.73,  # 0.48 + "favourite" 0.20 + "my" 0.05
        ids[10]: 0.05,  # 0.40 - filler 0.25 - says little 0.10
    }
    assert (rows[ids[0]]["decay_half_life"], rows[ids[0]]["decay_floor"]) == (30.0, 0.05)
    assert (rows[ids[6]]["decay_half_life"], rows[ids[6]]["decay_floor"]) == (30.0, None)  # facts keep

    audit = db_conn.execute(
        "SELECT action, session_id, memory_id, details FROM audit_events WHERE namespace = %s ORDER BY id",
        (ns,),
    ).fetchall()
    summary = sorted(
        (
            a["action"],
            a["session_id"],
            a["details"].get("match"),
            a["details"].get("count"),
        )
        for a in audit
    )
    assert summary == sorted(
        [
            ("dedup", "s1", "exact", None),  # batch 1 item 2
            ("dedup", "s1", "near", None),  # batch 1 item 5
            ("dedup", "s2", "exact", None),  # batch 1 item 7
            ("supersede", "s1", None, None),  # batch 1 item 9
            ("ingest", "s1", None, 7),  # batch 1: items 0, 1, 4, 6, 8, 9, 10
            ("ingest", "s2", None, 1),  # batch 1: item 3
            ("dedup", "s1", "exact", None),  # batch 2 item 0
            ("supersede", "s1", None, None),  # batch 2 item 1
            ("dedup", "s3", "exact", None),  # batch 2 item 2
            ("dedup", "s1", "exact", None),  # batch 2 item 4
            ("ingest", "s1", None, 1),  # batch 2: item 1
            ("ingest", "s3", None, 1),  # batch 2: item 3
        ]
    )
    supersedes = {
        (a["memory_id"], a["details"]["superseded_by"]) for a in audit if a["action"] == "supersede"
    }
    assert supersedes == {(ids[8], str(ids[9])), (ids[9], str(ids2[1]))}
    ingested = sorted(i for a in audit if a["action"] == "ingest" for i in a["details"]["memory_ids"])
    assert ingested == sorted(
        str(i) for i in (ids[0], ids[1], ids[3], ids[4], ids[6], ids[8], ids[9], ids[10], ids2[1], ids2[3])
    )

    entities = {
        r["normalized"]: r
        for r in db_conn.execute(
            "SELECT normalized, type, aliases, evidence, mention_count FROM entities WHERE namespace = %s",
            (ns,),
        ).fetchall()
    }
    assert set(entities) >= {"ana silva", "acme corp", "porto"}
    assert entities["ana silva"]["type"] == "person" and "ana" in entities["ana silva"]["aliases"]
    assert sorted(entities["ana silva"]["evidence"]) == sorted([ids[0], ids[1], ids[3], ids2[3]])
    assert entities["ana silva"]["mention_count"] == 4
    assert sorted(entities["porto"]["evidence"]) == sorted([ids[0], ids[3], ids2[3]])

    stats = db_conn.execute("SELECT docs FROM namespace_stats WHERE namespace = %s", (ns,)).fetchone()
    assert stats["docs"] == 10  # memories live at ingest: the 11 stored minus the near duplicate
    df = {
        r["term"]: r["df"]
        for r in db_conn.execute(
            "SELECT term, df FROM term_stats WHERE namespace = %s AND term = ANY(%s)",
            (ns, ["ana", "porto", "favourit", "invoic"]),
        ).fetchall()
    }
    assert df == {"ana": 4, "porto": 3, "favourit": 3, "invoic": 1}


def test_a_text_stored_by_a_concurrent_request_after_the_reads_is_reported_as_its_duplicate(
    ns, db_conn, monkeypatch
):
    """The write of a session that has had turns goes with the commit, unread: when another request
    stores the same namespace-wide text between this one's reads and its insert, nothing of the
    first attempt stays and the answer is the one the in-transaction check gave (a duplicate of the
    row that won), with the session's turns, the statistics and the audit counted once."""
    import memos.memory.ingest as ingest_module

    ingest(ns, _items([("s1", "user", "episodic", "Hello there.")]), actor="golden")
    real = ingest_module._mark_near_duplicates
    winner: list[Any] = []
    calls: list[int] = []

    def race(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if not winner:  # first attempt only: another request commits the same fact from session s2
            winner.append(None)
            winner[0] = ingest(ns, _items([("s2", "user", "semantic", "Customer prefers invoices by post")]))
        real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "_mark_near_duplicates", race)
    out = ingest(
        ns, _items([("s1", "user", "semantic", "Customer prefers invoices by post")]), actor="golden"
    )

    assert len(calls) == 3  # the first attempt, the concurrent request, the attempt again
    won = winner[0].memories[0]
    assert won.status == "created"
    assert _statuses(out) == [("duplicate", won.memory_id, None)]
    rows = db_conn.execute(
        "SELECT id, session_id, seen_count FROM memories WHERE namespace = %s AND kind = 'semantic'", (ns,)
    ).fetchall()
    assert [(r["id"], r["session_id"], r["seen_count"]) for r in rows] == [(won.memory_id, "s2", 2)]
    turns = db_conn.execute(
        "SELECT session_id, turn_count FROM sessions WHERE namespace = %s ORDER BY session_id", (ns,)
    ).fetchall()
    # No turn is reserved for the row that lost (the check after the insert, kept for a session's
    # first turns, leaves a gap: s1 at 2 with one turn stored).
    assert [(t["session_id"], t["turn_count"]) for t in turns] == [("s1", 1), ("s2", 1)]
    docs = db_conn.execute("SELECT docs FROM namespace_stats WHERE namespace = %s", (ns,)).fetchone()
    assert docs["docs"] == 2  # "Hello there." and the winner
    audit = db_conn.execute(
        "SELECT action, session_id, memory_id FROM audit_events WHERE namespace = %s ORDER BY id", (ns,)
    ).fetchall()
    assert [(a["action"], a["session_id"], a["memory_id"]) for a in audit] == [
        ("ingest", "s1", None),
        ("ingest", "s2", None),
        ("dedup", "s1", won.memory_id),
    ]


def test_the_same_items_one_at_a_time_give_the_batch_outcomes(ns, db_conn):
    """One item per request: after a session's first turn its writes go with the commit, unread
    (``_number_and_insert``). Statuses, links, turns, entities and statistics are those the batches
    above give, except that each request counts its own exact repeat (a batch counts it once)."""
    out = [ingest(ns, _items([row]), actor="golden").memories[0] for row in BATCH_1 + BATCH_2]
    ids = [m.memory_id for m in out]
    assert [(m.status, m.duplicate_of, m.supersedes) for m in out] == [
        ("created", None, None),
        ("created", None, None),
        ("duplicate", ids[0], None),
        ("created", None, None),
        ("created", None, None),
        ("duplicate", ids[4], None),
        ("created", None, None),
        ("duplicate", ids[6], None),
        ("created", None, None),
        ("superseded", None, ids[8]),
        ("created", None, None),
        ("duplicate", ids[1], None),  # batch 2 from here
        ("superseded", None, ids[9]),
        ("duplicate", ids[6], None),
        ("created", None, None),
        ("duplicate", ids[1], None),
    ]
    rows = db_conn.execute(
        "SELECT id, session_id, turn_no, status, duplicate_of, superseded_by, seen_count FROM memories"
        " WHERE namespace = %s",
        (ns,),
    ).fetchall()
    assert {
        r["id"]: (
            r["session_id"],
            r["turn_no"],
            r["status"],
            r["duplicate_of"],
            r["superseded_by"],
            r["seen_count"],
        )
        for r in rows
    } == {
        ids[0]: ("s1", 1, "active", None, None, 2),
        ids[1]: ("s1", 2, "active", None, None, 3),  # seen again by two requests of batch 2
        ids[3]: ("s2", 1, "active", None, None, 1),
        ids[4]: ("s1", 3, "active", None, None, 1),
        ids[5]: ("s1", 4, "duplicate", ids[4], None, 1),
        ids[6]: ("s1", 5, "active", None, None, 3),
        ids[8]: ("s1", 6, "superseded", None, ids[9], 1),
        ids[9]: ("s1", 7, "superseded", None, ids[12], 1),
        ids[10]: ("s1", 8, "active", None, None, 1),
        ids[12]: ("s1", 9, "active", None, None, 1),
        ids[14]: ("s3", 1, "active", None, None, 1),
    }
    audit = db_conn.execute(
        "SELECT action, session_id, memory_id, details FROM audit_events WHERE namespace = %s ORDER BY id",
        (ns,),
    ).fetchall()
    assert [
        (a["action"], a["session_id"], a["details"].get("match"), a["memory_id"])
        for a in audit
        if a["action"] != "ingest"
    ] == [
        ("dedup", "s1", "exact", ids[0]),
        ("dedup", "s1", "near", ids[5]),
        ("dedup", "s2", "exact", ids[6]),
        ("supersede", "s1", None, ids[8]),
        ("dedup", "s1", "exact", ids[1]),
        ("supersede", "s1", None, ids[9]),
        ("dedup", "s3", "exact", ids[6]),
        ("dedup", "s1", "exact", ids[1]),
    ]
    ingested = sorted(i for a in audit if a["action"] == "ingest" for i in a["details"]["memory_ids"])
    assert ingested == sorted(str(ids[i]) for i in (0, 1, 3, 4, 6, 8, 9, 10, 12, 14))
    entities = {
        r["normalized"]: r
        for r in db_conn.execute(
            "SELECT normalized, type, aliases, evidence, mention_count FROM entities WHERE namespace = %s",
            (ns,),
        ).fetchall()
    }
    assert entities["ana silva"]["type"] == "person" and "ana" in entities["ana silva"]["aliases"]
    assert sorted(entities["ana silva"]["evidence"]) == sorted([ids[0], ids[1], ids[3], ids[14]])
    assert entities["ana silva"]["mention_count"] == 4
    assert sorted(entities["porto"]["evidence"]) == sorted([ids[0], ids[3], ids[14]])
    stats = db_conn.execute("SELECT docs FROM namespace_stats WHERE namespace = %s", (ns,)).fetchone()
    assert stats["docs"] == 10
    df = {
        r["term"]: r["df"]
        for r in db_conn.execute(
            "SELECT term, df FROM term_stats WHERE namespace = %s AND term = ANY(%s)",
            (ns, ["ana", "porto", "favourit", "invoic"]),
        ).fetchall()
    }
    assert df == {"ana": 4, "porto": 3, "favourit": 3, "invoic": 1}
