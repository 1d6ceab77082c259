"""Ingest embeds before its transaction reads which embedder the stored vectors belong to: a wrong
guess (another dimension, as around a dimension change) is embedded and read again, same outcomes."""

from __future__ import annotations

import json

from memos.embeddings import HashingEmbedder, space


def ingest(api, ns, text, kind="episodic"):
    status, body, _ = api.call(
        "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": text, "kind": kind}
    )
    assert status == 200, body
    return body["memories"][0]


def test_a_guess_of_another_embedder_is_read_again_with_the_stored_ones(api, ns, db_conn, monkeypatch):
    first = ingest(api, ns, "The deployment pipeline failed on the integration tests step")
    dim = db_conn.execute("SELECT dim FROM embedding_space").fetchone()["dim"]
    wrong = HashingEmbedder(dim + 16)
    monkeypatch.setattr(space, "expected", lambda: wrong)

    near = ingest(api, ns, "The deployment pipeline failed on the integration tests step!!")
    exact = ingest(api, ns, "The deployment pipeline failed on the integration tests step")
    new = ingest(api, ns, "The cat knocked over the plant")

    assert (near["status"], near["duplicate_of"]) == ("duplicate", first["memory_id"])
    assert (exact["status"], exact["memory_id"]) == ("duplicate", first["memory_id"])
    assert new["status"] == "created"
    rows = db_conn.execute(
        "SELECT embedding::text AS e, turn_no FROM memories WHERE namespace = %s ORDER BY turn_no", (ns,)
    ).fetchall()
    assert {len(json.loads(r["e"])) for r in rows} == {dim}
    assert [r["turn_no"] for r in rows] == [1, 2, 3]
