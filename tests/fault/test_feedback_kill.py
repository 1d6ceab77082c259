"""A process killed right after a query answered: what the query left behind is kept, and its access
feedback (applied later, in batches) counts exactly once. Killed in the middle of the query's write
(before its commit): nothing of it is kept, and no answer was given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from memos.retrieval import feedback

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from memos.governance.access_audit import Reader
    from memos.models import QueryRequest
    from memos.retrieval.search import query

    resp = query(QueryRequest(namespace=sys.argv[1], query="tortoise named Sheldon", top_k=1),
                 reader=Reader("query", "key-in-child", "req-child"))
    print(resp.query_id, resp.results[0].memory_id, resp.context_pack.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean exit: nothing runs after the answer
    """
)


def remember_then_run(api, ns, script: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Ingest one memory over the API, then run ``script`` in a child process that queries for it."""
    status, body, _ = api.call(
        "POST",
        "/v1/ingest",
        {"namespace": ns, "session_id": "s1", "role": "user", "text": "My tortoise is named Sheldon"},
    )
    assert status == 200
    child = subprocess.run(
        [sys.executable, "-c", script, ns], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )
    return body["memories"][0]["memory_id"], child


def test_killed_after_the_answer_the_pack_audit_and_pending_feedback_survive(api, ns, db_conn):
    memory_id, child = remember_then_run(api, ns, CHILD)
    assert child.returncode == -signal.SIGKILL, child.stderr
    query_id, answered_id, pack_id = child.stdout.split()
    assert answered_id == memory_id

    pack = db_conn.execute("SELECT touched FROM context_packs WHERE id = %s", (pack_id,)).fetchone()
    assert pack is not None and [str(i) for i in pack["touched"]] == [memory_id]
    read = db_conn.execute(
        "SELECT actor, details FROM audit_events WHERE namespace = %s AND action = 'query'", (ns,)
    ).fetchall()
    assert [(r["actor"], r["details"]["query_id"]) for r in read] == [("key-in-child", query_id)]
    count = db_conn.execute("SELECT access_count FROM memories WHERE id = %s", (memory_id,)).fetchone()
    assert count["access_count"] == 0  # the feedback waits in the pack

    feedback.apply()
    feedback.apply()  # a second drain (another worker, a retry) finds nothing left
    count = db_conn.execute("SELECT access_count FROM memories WHERE id = %s", (memory_id,)).fetchone()
    assert count["access_count"] == 1


MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from memos.governance.access_audit import Reader
    from memos.models import QueryRequest
    from memos.retrieval import search

    insert = search.context_packs.insert

    def insert_then_die(conn, query_id, *a, **k):
        insert(conn, query_id, *a, **k)  # the pack's INSERT is sent; the audit row and COMMIT are not
        print(query_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    search.context_packs.insert = insert_then_die
    resp = search.query(QueryRequest(namespace=sys.argv[1], query="tortoise named Sheldon", top_k=1),
                        reader=Reader("query", "key-in-child", "req-child"))
    print("answered", resp.query_id, flush=True)  # never reached
    """
)


def test_killed_in_the_middle_of_the_write_the_query_leaves_nothing_and_answered_nothing(api, ns, db_conn):
    memory_id, child = remember_then_run(api, ns, MID_WRITE)
    assert child.returncode == -signal.SIGKILL, child.stderr
    (query_id,) = child.stdout.split()  # no answer line: the caller got nothing

    # The pack, the audit row and the commit go in one transaction: none of it is there.
    packs = db_conn.execute("SELECT id FROM context_packs WHERE query_id = %s", (query_id,)).fetchall()
    reads = db_conn.execute(
        "SELECT id FROM audit_events WHERE namespace = %s AND action = 'query'", (ns,)
    ).fetchall()
    assert packs == [] and reads == []
    feedback.apply()
    count = db_conn.execute("SELECT access_count FROM memories WHERE id = %s", (memory_id,)).fetchone()
    assert count["access_count"] == 0  # an unanswered read is not counted
