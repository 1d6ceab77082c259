"""`memos reembed`: rows move to the configured embedder in batches, resumably, and queries work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infra.cli import main as memos_cli
from memos.embeddings.reembed import reembed
from memos.kernel.errors import Conflict
from tests.services import env_override

TEXTS = [
    "The lighthouse keeper feeds the gulls at dawn",
    "Maria's sister plays the cello in Lisbon",
    "Our quarterly budget review moved to Thursday",
    "The sourdough starter needs flour every morning",
    "Tom is allergic to peanuts and shellfish",
]


def _ingest(api, ns: str) -> None:
    items = [{"session_id": "s1", "role": "user", "text": t} for t in TEXTS]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body


def _embedders(db_conn, ns: str) -> list[str | None]:
    rows = db_conn.execute("SELECT embedder FROM memories WHERE namespace = %s ORDER BY id", (ns,)).fetchall()
    return [r["embedder"] for r in rows]


def test_reembed_moves_a_namespace_to_the_new_embedder_in_resumable_batches(api, ns, db_conn):
    other = ns + "-other"
    with env_override(MEMOS_EMBEDDER="hashing", MEMOS_EMBED_DIM="256"):
        _ingest(api, ns)
        _ingest(api, other)
    assert _embedders(db_conn, ns) == ["hashing:256"] * 5

    # The embedder is now static (the test default); stop after one batch, as an interruption would.
    first = reembed(ns, batch_size=2, max_batches=1)
    assert (first.reembedded, first.batches, first.finished, first.resumed) == (2, 1, False, False)
    assert sorted(_embedders(db_conn, ns), key=str) == ["hashing:256"] * 3 + ["static:256"] * 2
    # Reads work in the middle of a run.
    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "who is allergic to peanuts?"})
    assert status == 200 and body["results"]

    second = reembed(ns, batch_size=2)
    assert second.run_id == first.run_id and second.resumed
    assert (second.reembedded, second.batches, second.finished) == (5, 2, True)  # the other 3 rows: 2 + 1
    assert _embedders(db_conn, ns) == ["static:256"] * 5
    assert _embedders(db_conn, other) == ["hashing:256"] * 5  # another namespace is left alone

    # Stored vectors are exactly the static embedder's.
    from memos.embeddings import get_embedder

    rows = db_conn.execute(
        "SELECT text, embedding::text AS embedding FROM memories WHERE namespace = %s", (ns,)
    ).fetchall()
    expected = get_embedder().embed([r["text"] for r in rows])
    stored = np.array([json.loads(r["embedding"]) for r in rows], dtype=np.float32)
    assert np.allclose(stored, expected, atol=1e-5)

    status, body, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "who is allergic to peanuts?"})
    assert status == 200 and body["results"][0]["text"] == TEXTS[4]

    # Nothing left: a new run finds no work.
    again = reembed(ns, batch_size=2)
    assert (again.reembedded, again.finished, again.resumed) == (0, True, False)
    run = db_conn.execute(
        "SELECT reembedded, finished_at FROM reembed_runs WHERE id = %s", (first.run_id,)
    ).fetchone()
    assert run["reembedded"] == 5 and run["finished_at"] is not None


def test_new_rows_record_the_embedder_that_made_them(api, ns, db_conn):
    _ingest(api, ns)
    assert _embedders(db_conn, ns) == ["static:256"] * 5
    assert reembed(ns).reembedded == 0


def _vector_hash(db_conn, ns: str) -> dict[str, str]:
    return db_conn.execute(
        "SELECT md5(string_agg(embedding::text, ',' ORDER BY id)) AS h FROM memories WHERE namespace = %s",
        (ns,),
    ).fetchone()


def test_a_dimension_change_refuses_one_namespace_and_changes_nothing(api, ns, db_conn):
    _ingest(api, ns)
    before = _vector_hash(db_conn, ns)
    with (
        env_override(MEMOS_EMBEDDER="hashing", MEMOS_EMBED_DIM="384"),
        pytest.raises(Conflict, match="whole store"),
    ):
        reembed(ns)
    assert _vector_hash(db_conn, ns) == before
    assert _columns(db_conn) == {"embedding": 256}


def _columns(conn) -> dict[str, int]:
    """The vector columns of memories and their declared dimensions."""
    rows = conn.execute(
        "SELECT attname, atttypmod FROM pg_attribute WHERE attrelid = 'memories'::regclass"
        " AND atttypid = 'vector'::regtype AND NOT attisdropped"
    ).fetchall()
    return {r["attname"]: r["atttypmod"] for r in rows}


def test_the_cli_reports_progress_and_exits_3_when_stopped_early(api, ns, capsys):
    with env_override(MEMOS_EMBEDDER="hashing", MEMOS_EMBED_DIM="256"):
        _ingest(api, ns)
    assert memos_cli(["reembed", "--namespace", ns, "--batch-size", "2", "--max-batches", "1"]) == 3
    assert '"reembedded": 2' in capsys.readouterr().out
    assert memos_cli(["reembed", "--namespace", ns]) == 0
    assert '"reembedded": 5' in capsys.readouterr().out
