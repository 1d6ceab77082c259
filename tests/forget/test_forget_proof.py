"""Forget-proof: for every way of forgetting, a unique text that was ingested, condensed, queried
(so summaries, context packs, entities, term statistics and the L1 window hold it) leaves no
trace in a full pg_dump of PostgreSQL nor in any Redis key or value."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from memos.governance.condensation import condense
from memos.governance.decay import run_decay
from memos.kernel.text import content_terms
from tests.forget.dumps import occurrences, postgres_dump, redis_dump

PATHS = ("delete", "reset", "namespace_delete", "ttl", "decay")


def _word(prefix: str) -> str:
    """A made-up capitalized word no other test writes (letters only, ending where no stemmer cuts)."""
    return prefix + "".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:8]) + "x"


class Secret:
    def __init__(self) -> None:
        self.name, self.project, self.tag = _word("Qur"), _word("Zen"), _word("tag")
        self.text = (
            f"My colleague {self.name} prefers oat milk and we decided to ship the {self.project}"
            " release on Friday."
        )

    @property
    def needles(self) -> list[str]:
        words = [self.name, self.project, self.tag]
        return sorted({*words, *(t for w in words for t in content_terms(w))})


def _ingest(api: Any, ns: str, items: list[dict[str, Any]], key: str | None = None) -> list[str]:
    headers = {"Idempotency-Key": key} if key else None
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items}, headers=headers)
    assert status == 200, body
    return [m["memory_id"] for m in body["memories"]]


def _turn(text: str, session: str = "s", **extra: Any) -> dict[str, Any]:
    return {"session_id": session, "role": "user", "text": text, **extra}


def _hold_the_secret(
    api: Any, ns: str, secret: Secret, edit: dict[str, Any] | None = None
) -> tuple[str, str]:
    """Ingest the secret among other turns, condense the session, edit it (the old version is
    kept in history), then query and answer about it."""
    mid, filler, _ = _ingest(
        api,
        ns,
        [
            _turn(secret.text, metadata={"ref": secret.tag}),
            _turn("We decided to keep the weekly review on Tuesday mornings."),
            _turn("I like hiking in the hills near the lake."),
        ],
        key=f"forget-{uuid.uuid4().hex}",
    )
    _ingest(api, ns, [_turn("Lunch was at noon with the whole team.", session="o")])
    assert condense({"job_id": f"{ns}/s/3", "namespace": ns, "session_id": "s", "through_turn": 3}) == "done"
    edit = edit or {"metadata": {"ref": secret.tag, "edited": True}}
    assert api.call("PATCH", f"/v1/memories/{mid}", edit)[0] == 200
    question = f"What does {secret.name} prefer?"
    for body in ({"session_id": "s"}, {}):
        status, q, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": question, **body})
        assert status == 200 and mid in {r["memory_id"] for r in q["results"]}, q
    assert (
        api.call("POST", "/v1/answer", {"namespace": ns, "question": question, "session_id": "s"})[0] == 200
    )
    return mid, filler


def _assert_held(db_conn: Any, env: dict[str, Any], secret: Secret) -> None:
    """The copies exist before forgetting: the dumps can see them."""
    needle = f"%{secret.name.lower()}%"
    for table, column in (
        ("memories", "text"),
        ("memory_versions", "text"),
        ("condensations", "summary_text"),
        ("context_packs", "pack::text"),
        ("entities", "normalized"),
        ("term_stats", "term"),
    ):
        n = db_conn.execute(f"SELECT count(*) AS n FROM {table} WHERE lower({column}) LIKE %s", (needle,))
        assert n.fetchone()["n"] > 0, table
    assert occurrences(redis_dump(env["redis_url"]), [secret.name])[secret.name] > 0


def _forget(path: str, api: Any, ns: str, mid: str, db_conn: Any) -> None:
    if path == "delete":
        assert api.call("DELETE", f"/v1/memories/{mid}")[0] == 204
    elif path == "reset":
        status, body, _ = api.call(
            "POST", "/v1/sessions/reset", {"namespace": ns, "session_id": "s", "confirm": True}
        )
        assert status == 200, body
    elif path == "namespace_delete":
        assert api.call("DELETE", f"/v1/namespaces/{ns}")[0] == 200
    elif path == "ttl":
        # Three days pass: the 1-day TTL (counted from occurred_at) has run out.
        db_conn.execute(
            "UPDATE memories SET occurred_at = occurred_at - interval '3 days',"
            " expires_at = expires_at - interval '3 days' WHERE id = %s",
            (mid,),
        )
        assert api.call("GET", f"/v1/memories/{mid}")[0] == 404  # expired, even before the decay job runs
        run_decay()
    elif (
        path == "decay"
    ):  # importance 0, raised by its three retrievals to 0.9 * 3/13 ≈ 0.21: under a 0.3 floor
        policy = {"namespace": ns, "settings": {"min_importance": 0.3}}
        assert api.call("PUT", "/v1/policy", policy)[0] == 200
        run_decay()


@pytest.mark.parametrize("path", PATHS)
def test_nothing_of_a_forgotten_memory_survives_in_postgres_or_redis(path, api, ns, env, db_conn):
    secret = Secret()
    if path == "ttl":
        policy = {"namespace": ns, "settings": {"ttl_days": {"episodic": 1}}}
        assert api.call("PUT", "/v1/policy", policy)[0] == 200
    # On the decay path, importance 0 decays below the namespace's floor at the next run.
    edit = {"importance": 0.0, "metadata": {"ref": secret.tag}} if path == "decay" else None
    mid, filler = _hold_the_secret(api, ns, secret, edit)
    _assert_held(db_conn, env, secret)

    _forget(path, api, ns, mid, db_conn)

    assert occurrences(postgres_dump(env["pg_url"]), secret.needles) == dict.fromkeys(secret.needles, 0)
    assert occurrences(redis_dump(env["redis_url"]), secret.needles) == dict.fromkeys(secret.needles, 0)
    for view in ("condensations", "pipeline", "context_packs?include_pack=true", "audit", "stats"):
        sep = "&" if "?" in view else "?"
        status, body, _ = api.call("GET", f"/v1/ops/{view}{sep}namespace={ns}")
        assert status == 200, (view, body)
        assert occurrences(json.dumps(body), secret.needles) == dict.fromkeys(secret.needles, 0), view
    assert api.call("GET", f"/v1/memories/{mid}")[0] == 404
    if path in ("delete", "ttl", "decay"):  # the rest of the session is still remembered
        status, q, _ = api.call("POST", "/v1/query", {"namespace": ns, "query": "weekly review Tuesday"})
        assert filler in {r["memory_id"] for r in q["results"]}
        summary = db_conn.execute(
            "SELECT summary_text FROM condensations WHERE namespace = %s AND session_id = 's'", (ns,)
        ).fetchone()["summary_text"]
        assert "weekly review" in summary


def test_a_deleted_memory_leaves_a_tombstone_without_text_metadata_or_embedding(api, ns, db_conn):
    secret = Secret()
    mid, _ = _hold_the_secret(api, ns, secret)
    assert api.call("DELETE", f"/v1/memories/{mid}")[0] == 204
    row = db_conn.execute(
        "SELECT text, metadata, status, forgotten_at, forgotten_by, content_hash,"
        " vector_norm(embedding) AS norm FROM memories WHERE id = %s",
        (mid,),
    ).fetchone()
    assert row["text"] == "" and row["metadata"] == {} and row["norm"] == 0
    assert row["status"] == "deleted" and row["forgotten_at"] is not None and row["forgotten_by"]
    assert len(row["content_hash"]) == 64
    history = api.call("GET", f"/v1/memories/{mid}/history")[1]
    assert history["memory"]["status"] == "deleted" and history["memory"]["text"] == ""
    assert history["versions"] == []


def test_every_summary_of_the_rolling_chain_loses_the_memory_and_keeps_the_rest(api, ns, db_conn):
    secret = Secret()
    mid, _ = _hold_the_secret(api, ns, secret)
    _ingest(api, ns, [_turn("We decided to rename the backlog board to Roadmap.")])
    assert condense({"job_id": f"{ns}/s/4", "namespace": ns, "session_id": "s", "through_turn": 4}) == "done"
    assert api.call("DELETE", f"/v1/memories/{mid}")[0] == 204
    rows = db_conn.execute(
        "SELECT summary, summary_text FROM condensations WHERE namespace = %s ORDER BY to_turn", (ns,)
    ).fetchall()
    assert len(rows) == 2
    for row in rows:
        assert secret.name not in json.dumps(row["summary"]) and secret.name not in row["summary_text"]
        assert "weekly review" in row["summary_text"]
    assert "Roadmap" in rows[1]["summary_text"]  # the newer one still folds the older
    _ingest(api, ns, [_turn("We decided to move standup to 9:30.")])
    assert condense({"job_id": f"{ns}/s/5", "namespace": ns, "session_id": "s", "through_turn": 5}) == "done"
    latest = db_conn.execute(
        "SELECT summary_text FROM condensations WHERE namespace = %s ORDER BY to_turn DESC LIMIT 1", (ns,)
    ).fetchone()["summary_text"]
    assert "weekly review" in latest and "Roadmap" in latest and secret.name not in latest
