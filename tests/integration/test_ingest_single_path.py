"""A request of one item takes its own path (``memos.memory.ingest._ingest_one``): the same items
one request at a time through it and through the batch path (``_ingest_once`` with one item) must
leave the same outcomes: statuses and links, stored rows and turns, audit rows, entities, term
statistics and postings, session counters and the L1 windows."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest

import memos.memory.ingest as ingest_module
from memos.governance import policy_store
from memos.models import IngestItem
from memos.working_memory import WorkingMemory, window_key

ROWS: list[dict[str, Any]] = [  # one request each, in order
    {"session_id": "s1", "role": "user", "text": "My sister Ana Silva lives in Porto."},  # s1's first turn
    {"session_id": "s1", "role": "user", "text": "Ana works at Acme Corp."},
    {"session_id": "s1", "role": "user", "text": "My sister Ana Silva lives in Porto."},  # exact
    {"session_id": "s2", "role": "user", "text": "My sister Ana Silva lives in Porto."},  # other session
    {
        "session_id": "s1",
        "role": "user",
        "text": "The deployment pipeline failed on the integration tests step",
    },
    {
        "session_id": "s1",
        "role": "user",
        "text": "The deployment pipeline failed on the integration tests step!!",
    },
    {"session_id": "s1", "role": "user", "kind": "semantic", "text": "Customer prefers invoices by post"},
    {"session_id": "s2", "role": "user", "kind": "semantic", "text": "customer prefers   invoices by post"},
    {"session_id": "s1", "role": "user", "text": "My favourite colour is green."},
    {"session_id": "s1", "role": "user", "text": "My favourite colour is blue."},  # supersedes
    {"session_id": "s1", "role": "assistant", "text": "ok"},
    {
        "session_id": "s3",
        "role": "user",
        "text": "We met Ana at the harbour in Porto.",
        "metadata": {"speaker": "Lena"},
    },
    {
        "session_id": "s3",
        "role": "user",
        "kind": "procedural",
        "text": "Always deploy on Tuesdays after the review.",
    },
    {"session_id": "s1", "role": "user", "text": "My favourite colour is red."},  # supersedes again
    {"session_id": "s3", "role": "assistant", "text": "Lena said the harbour trip with Ana was lovely."},
]
STATUSES = [  # (status, the item the link points to): written out, not derived from either path
    ("created", None),
    ("created", None),
    ("duplicate", 0),
    ("created", None),
    ("created", None),
    ("duplicate", 4),
    ("created", None),
    ("duplicate", 6),
    ("created", None),
    ("superseded", 8),
    ("created", None),
    ("created", None),
    ("created", None),
    ("superseded", 9),
    ("created", None),
]


def _run(ns: str, single: bool, rows: list[dict[str, Any]] = ROWS) -> list[Any]:
    out = []
    for row in rows:
        items = [IngestItem.model_validate(row)]
        if single:
            out.append(ingest_module.ingest(ns, items, actor="paths", request_id="r").memories[0])
        else:
            out.append(ingest_module._ingest_once(ns, items, "paths", "r", None).memories[0])
    return out


def _state(ns: str, out: list[Any], db_conn: Any) -> dict[str, Any]:
    """Everything the requests left, with memory ids replaced by the position of the item that
    stored them (ids are random on each side)."""
    pos: dict[UUID | str, int] = {}
    for i, m in enumerate(out):
        if m.status != "duplicate" or m.memory_id != m.duplicate_of:  # an exact duplicate stores nothing
            pos[m.memory_id] = pos[str(m.memory_id)] = i

    def p(value: Any) -> Any:
        if isinstance(value, list):
            return sorted(p(v) for v in value)
        if isinstance(value, dict):
            return {k: p(v) for k, v in value.items()}
        return pos.get(value, value) if value is not None else None

    statuses = [(m.status, p(m.duplicate_of) if m.duplicate_of else p(m.supersedes)) for m in out]
    memories = {
        p(r["id"]): (
            r["session_id"],
            r["turn_no"],
            r["role"],
            r["kind"],
            r["text"],
            r["metadata"],
            r["status"],
            p(r["duplicate_of"]),
            p(r["superseded_by"]),
            r["seen_count"],
            r["importance"],
            r["tokens"],
            r["content_hash"],
            r["fact_key"],
            r["decay_half_life"],
            r["decay_floor"],
            r["ttl_days"],
            r["version"],
        )
        for r in db_conn.execute("SELECT * FROM memories WHERE namespace = %s", (ns,)).fetchall()
    }
    vectors = {
        p(r["id"]): r["e"]
        for r in db_conn.execute(
            "SELECT id, embedding::text AS e FROM memories WHERE namespace = %s", (ns,)
        ).fetchall()
    }
    audit = [
        (
            a["action"],
            a["session_id"],
            a["actor"],
            a["request_id"],
            p(a["memory_id"]),
            {k: p(v) for k, v in a["details"].items()},
        )
        for a in db_conn.execute(
            "SELECT * FROM audit_events WHERE namespace = %s ORDER BY id", (ns,)
        ).fetchall()
    ]
    entities = sorted(
        (e["normalized"], e["type"], sorted(e["aliases"]), p(e["evidence"]), e["mention_count"])
        for e in db_conn.execute("SELECT * FROM entities WHERE namespace = %s", (ns,)).fetchall()
    )
    terms = sorted(
        (r["term"], r["df"])
        for r in db_conn.execute("SELECT term, df FROM term_stats WHERE namespace = %s", (ns,)).fetchall()
    )
    stats = db_conn.execute(
        "SELECT docs, total_terms FROM namespace_stats WHERE namespace = %s", (ns,)
    ).fetchone()
    postings = sorted(
        (r["term"], r["impact"], p(r["memory_id"]))
        for r in db_conn.execute("SELECT * FROM postings WHERE namespace = %s", (ns,)).fetchall()
    )
    memory_terms = {
        p(r["memory_id"]): r["terms"]
        for r in db_conn.execute(
            "SELECT t.memory_id, t.terms FROM memory_terms t JOIN memories m ON m.id = t.memory_id"
            " WHERE m.namespace = %s",
            (ns,),
        ).fetchall()
    }
    sessions = {
        r["session_id"]: (r["turn_count"], r["token_count"])
        for r in db_conn.execute("SELECT * FROM sessions WHERE namespace = %s", (ns,)).fetchall()
    }
    client = WorkingMemory().client
    windows = {
        sid: [
            {k: p(v) for k, v in json.loads(raw).items() if k != "occurred_at"}
            for raw in client.lrange(window_key(ns, sid), 0, -1)
        ]
        for sid in ("s1", "s2", "s3")
    }
    return {
        "statuses": statuses,
        "memories": memories,
        "vectors": vectors,
        "audit": audit,
        "entities": entities,
        "terms": terms,
        "stats": (stats["docs"], stats["total_terms"]),
        "postings": postings,
        "memory_terms": memory_terms,
        "sessions": sessions,
        "windows": windows,
    }


@pytest.fixture
def other_ns(ns: str) -> str:
    return ns + "-b"


def test_one_item_at_a_time_the_single_path_and_the_batch_path_leave_the_same_state(ns, other_ns, db_conn):
    single = _state(ns, _run(ns, single=True), db_conn)
    batch = _state(other_ns, _run(other_ns, single=False), db_conn)

    assert single["statuses"] == STATUSES
    for part in batch:
        assert single[part] == batch[part], part
    assert {sid: turns for sid, (turns, _) in single["sessions"].items()} == {"s1": 9, "s2": 1, "s3": 3}
    # L1 holds the live turns, newest first (the near duplicate, turn 4, is not pushed).
    assert [t["turn_no"] for t in single["windows"]["s1"]] == [9, 8, 7, 6, 5, 3, 2, 1]


def test_with_redaction_the_single_path_and_the_batch_path_leave_the_same_state(ns, other_ns, db_conn):
    """Redacted text and metadata, with a redact event beside the ingest one (two audit rows)."""
    rows = [
        {"session_id": "s1", "role": "user", "text": "Reach me at jane.doe@example.com or +1 415 555 0100"},
        {
            "session_id": "s1",
            "role": "user",
            "text": "Ana Silva's card is on file.",
            "metadata": {"email": "a@b.co"},
        },
        {"session_id": "s1", "role": "user", "text": "Reach me at jane.doe@example.com or +1 415 555 0100"},
    ]
    for n in (ns, other_ns):
        policy_store.put_policy(n, {"pii_redaction": True}, actor=None, request_id=None)
    single = _state(ns, _run(ns, True, rows), db_conn)
    batch = _state(other_ns, _run(other_ns, False, rows), db_conn)

    assert single["statuses"] == [("created", None), ("created", None), ("duplicate", 0)]
    assert [a[0] for a in single["audit"]].count("redact") == 3
    for part in batch:
        assert single[part] == batch[part], part


class _FailingEmbedder:
    """An embedder whose service is down: ``embed`` raises (as a model endpoint's error would)."""

    def __init__(self, real: Any) -> None:
        self.dim = real.dim

    def embed(self, texts: list[str]) -> Any:
        raise RuntimeError("embedder down")


@pytest.mark.parametrize("single", [True, False], ids=["single path", "batch path"])
def test_an_add_whose_row_cannot_be_built_leaves_nothing_and_the_session_unlocked(
    ns, db_conn, monkeypatch, single
):
    """An embedder that fails while the add's row is built: the error reaches the caller on both
    paths, every row, counter, statistic, audit row and L1 window stays as it was, and no session
    lock is left behind: the next add takes the next turn."""
    from memos.embeddings import space

    out = _run(ns, True, ROWS[:2])
    before = _state(ns, out, db_conn)
    real = space.expected()
    monkeypatch.setattr(space, "expected", lambda: _FailingEmbedder(real))
    items = [IngestItem(session_id="s1", role="user", text="A third turn that cannot be embedded.")]

    with pytest.raises(RuntimeError, match="embedder down"):
        if single:
            ingest_module.ingest(ns, items, actor="paths", request_id="r")
        else:
            ingest_module._ingest_once(ns, items, "paths", "r", None)

    assert _state(ns, out, db_conn) == before
    # Not held by a transaction left open: taken at once (NOWAIT raises when another holds it).
    locked = db_conn.execute(
        "SELECT turn_count FROM sessions WHERE namespace = %s AND session_id = 's1' FOR UPDATE NOWAIT", (ns,)
    ).fetchone()
    assert locked["turn_count"] == 2
    monkeypatch.undo()
    third = ingest_module.ingest(ns, items, actor="paths", request_id="r").memories[0]
    assert third.status == "created"
    turn = db_conn.execute("SELECT turn_no FROM memories WHERE id = %s", (third.memory_id,)).fetchone()
    assert turn["turn_no"] == 3
