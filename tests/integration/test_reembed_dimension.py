"""Changing embedder and dimension (`memos reembed` with a new MEMOS_EMBED_DIM): a shadow column
filled in resumable batches, then switched; reads and writes go on throughout. Each test runs on
a database of its own (the change is store-wide), in the test run's PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from infra.cli import main as memos_cli
from memos.embeddings import HashingEmbedder
from memos.embeddings.reembed import abort, reembed
from memos.kernel.errors import Conflict
from memos.store.migrate import apply_migrations
from tests.conftest import Api, make_key
from tests.integration.test_reembed import TEXTS, _columns
from tests.services import env_override

NEW = {"MEMOS_EMBEDDER": "hashing", "MEMOS_EMBED_DIM": "384"}
OLD = {"MEMOS_EMBEDDER": "static", "MEMOS_EMBED_DIM": "256"}
QUESTION = "who is allergic to peanuts?"


@pytest.fixture
def store(env: dict[str, Any]) -> Iterator[tuple[Api, Any]]:
    """A fresh, migrated database (256 dims) as the process's store; an admin API and a connection."""
    name = f"memos_dim_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(env["pg_url"], autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(env["pg_url"], dbname=name)
    try:
        with env_override(MEMOS_DATABASE_URL=url, **OLD):
            apply_migrations(url, 256)
            with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
                yield Api(make_key(["admin"], ["*"])), conn
    finally:
        with psycopg.connect(env["pg_url"], autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _ingest(api: Api, ns: str, texts: list[str]) -> list[str]:
    items = [{"session_id": "s1", "role": "user", "text": t} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def _top(api: Api, ns: str, question: str = QUESTION) -> str:
    status, body, _ = api.call(
        "POST", "/v1/query", {"namespace": ns, "query": question, "include_filtered": True}
    )
    assert status == 200, body
    assert body["results"], body
    return str(body["results"][0]["text"])


def _rows(conn: Any) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT id::text AS id, text, embedder, embedding::text AS embedding, forgotten_at IS NOT NULL AS forgotten"
        " FROM memories ORDER BY id"
    ).fetchall()


def test_a_dimension_change_fills_a_shadow_column_resumes_and_switches_while_reads_go_on(store):
    api, conn = store
    ns = "dim-a"
    _ingest(api, ns, TEXTS)
    assert {r["embedder"] for r in _rows(conn)} == {"static:256"}

    with env_override(**NEW):
        first = reembed(batch_size=3, max_batches=1)  # interrupted after one batch
        assert (first.mode, first.reembedded, first.finished, first.switched) == ("shadow", 3, False, False)
        assert _columns(conn) == {"embedding": 256, "embedding_next": 384}
        # Reads keep using the old column with the embedder that made it, whatever the configuration.
        assert _top(api, ns) == TEXTS[4]
        with env_override(**OLD):
            assert _top(api, ns) == TEXTS[4]
        # Writes go on: a new row, an edit and a forget of rows the first batch had already filled.
        filled = conn.execute(
            "SELECT id::text AS id, text FROM memories WHERE embedder_next IS NOT NULL ORDER BY id"
        ).fetchall()
        assert len(filled) == 3
        new_id = _ingest(api, ns, ["The ferry to Capri leaves at nine"])[0]
        edited, forgotten = [r["id"] for r in filled if r["text"] != TEXTS[4]][:2]  # the answer stays
        status, body, _ = api.call("PATCH", f"/v1/memories/{edited}", {"text": "Ana keeps bees on the roof"})
        assert status == 200, body
        assert api.call("DELETE", f"/v1/memories/{forgotten}")[0] == 204
        stale = conn.execute(
            "SELECT id::text AS id FROM memories WHERE embedder_next IS NULL AND id = ANY(%s::uuid[])",
            ([new_id, edited, forgotten],),
        ).fetchall()
        assert {r["id"] for r in stale} == {new_id, edited, forgotten}  # back in the queue

        second = reembed(batch_size=2)
        assert (second.run_id, second.resumed, second.finished, second.switched) == (
            first.run_id,
            True,
            True,
            True,
        )
        assert second.reembedded == 3 + 5  # the queue: 2 never filled, 1 new, 2 made stale

    assert _columns(conn) == {"embedding": 384}
    not_null = conn.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'"
    ).fetchone()
    assert not_null == {"attnotnull": True}
    assert conn.execute("SELECT dim, active, target FROM embedding_space").fetchone() == {
        "dim": 384,
        "active": "hashing:384",
        "target": None,
    }
    assert (
        conn.execute("SELECT tgname FROM pg_trigger WHERE tgname = 'memories_shadow_stale'").fetchone()
        is None
    )
    assert conn.execute("SELECT 1 FROM pg_class WHERE relname = 'memories_reembed_todo'").fetchone() is None

    rows = _rows(conn)
    assert {r["embedder"] for r in rows} == {"hashing:384"}
    live = [r for r in rows if not r["forgotten"]]
    expected = HashingEmbedder(384).embed([r["text"] for r in live])
    stored = np.array([json.loads(r["embedding"]) for r in live], dtype=np.float32)
    assert np.allclose(stored, expected, atol=1e-5)
    assert "Ana keeps bees on the roof" in {r["text"] for r in live}
    (gone,) = [r for r in rows if r["forgotten"]]
    assert gone["id"] == forgotten and json.loads(gone["embedding"]) == [0.0] * 384

    # After the switch, both configurations answer from the new vectors.
    with env_override(**NEW):
        assert _top(api, ns) == TEXTS[4]
        assert _ingest(api, ns, ["Lena rides her bike to the harbour"])
        assert reembed().reembedded == 0  # nothing left: an in-place run finds no work
    assert _top(api, ns) == TEXTS[4]  # the old configuration, still deployed somewhere
    assert {r["embedder"] for r in _rows(conn)} == {"hashing:384"}
    # Migrations check what was applied against the store's own dimension, either configuration.
    assert apply_migrations(conn.info.dsn, 256) == []
    assert apply_migrations(conn.info.dsn, 384) == []


def test_reads_and_writes_never_fail_during_a_dimension_change(store):
    api, conn = store
    ns = "dim-b"
    _ingest(api, ns, TEXTS * 1 + [f"Note {i}: the meeting room {i} has a projector" for i in range(15)])
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        i = 0
        while not stop.is_set():
            body = {"namespace": ns, "query": QUESTION}
            statuses.append(api.call("POST", "/v1/query", body)[0])
            item = {"namespace": ns, "session_id": "s2", "role": "user", "text": f"Reminder number {i}"}
            statuses.append(api.call("POST", "/v1/ingest", item)[0])
            i += 1

    with env_override(**NEW):
        worker = threading.Thread(target=traffic)
        worker.start()
        try:
            report = reembed(batch_size=3)
        finally:
            stop.set()
            worker.join(timeout=60)
    assert report.switched and report.finished
    assert len(statuses) >= 2 and set(statuses) == {200}
    assert {r["embedder"] for r in _rows(conn)} == {"hashing:384"}  # writes during the change included


def test_an_aborted_change_leaves_the_store_as_it_was(store):
    api, conn = store
    ns = "dim-c"
    _ingest(api, ns, TEXTS)
    before = _rows(conn)
    with env_override(**NEW):
        assert not reembed(batch_size=2, max_batches=1).finished
        with (
            env_override(MEMOS_EMBEDDER="static", MEMOS_EMBED_DIM="384"),
            pytest.raises(Conflict, match="abort"),
        ):
            reembed()  # another target while one change is in progress
        assert memos_cli(["reembed", "--abort"]) == 0
        assert abort() is False  # nothing left to abort
        assert _top(api, ns) == TEXTS[4]
    assert _columns(conn) == {"embedding": 256}
    assert conn.execute("SELECT dim, target FROM embedding_space").fetchone() == {"dim": 256, "target": None}
    assert _rows(conn) == before


def test_the_cli_runs_a_dimension_change_to_the_end(store, capsys):
    api, conn = store
    _ingest(api, "dim-d", TEXTS)
    with env_override(**NEW):
        assert memos_cli(["reembed", "--batch-size", "2", "--max-batches", "1"]) == 3
        assert '"mode": "shadow"' in capsys.readouterr().out
        assert memos_cli(["reembed", "--batch-size", "2"]) == 0
        out = json.loads(capsys.readouterr().out)
    assert (out["switched"], out["reembedded"]) == (True, 5)
    assert _columns(conn) == {"embedding": 384}
