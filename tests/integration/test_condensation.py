"""Condensation against real PostgreSQL and moto SQS: rolling summaries, idempotent redelivery,
poison messages to the DLQ, no gaps under concurrent ingest."""

from __future__ import annotations

import json
import threading
import time
import uuid

import boto3
import pytest

from functions.condense.handler import handler
from infra.local.server import lambda_context
from infra.local.workers import CondensationWorker
from memos.governance import condensation, policy_store
from memos.governance.condensation import InvalidJob, condense
from memos.kernel.tokens import count_tokens


def ingest(api, ns, session, texts, role="user"):
    ids = []
    for text in texts:
        status, body, _ = api.call(
            "POST", "/v1/ingest", {"namespace": ns, "session_id": session, "role": role, "text": text}
        )
        assert status == 200, body
        ids.append(body["memories"][0]["memory_id"])
    return ids


def job(ns, session, through):
    return {
        "job_id": f"{ns}/{session}/{through}",
        "namespace": ns,
        "session_id": session,
        "through_turn": through,
    }


def record(body, message_id=None):
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "t"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:memos-condense",
        "awsRegion": "us-east-1",
    }


def rows(db_conn, ns, session="s"):
    return db_conn.execute(
        "SELECT * FROM condensations WHERE namespace = %s AND session_id = %s ORDER BY from_turn",
        (ns, session),
    ).fetchall()


def texts(summary, category):
    return [i["text"] for i in summary[category]]


def test_a_summary_after_a_summary_keeps_the_first_ones_items(api, ns, db_conn):
    first_ids = ingest(api, ns, "s", ["My sister Ana lives in Porto.", "I prefer aisle seats.", "ok thanks"])
    assert condense(job(ns, "s", 3)) == "done"
    ingest(api, ns, "s", ["We decided to fly on Friday.", "Never book red-eye flights.", "好的"])
    assert condense(job(ns, "s", 6)) == "done"

    first, second = rows(db_conn, ns)
    assert (first["from_turn"], first["to_turn"]) == (1, 3)
    assert (second["from_turn"], second["to_turn"]) == (first["to_turn"] + 1, 6)
    s = second["summary"]
    assert texts(s, "facts") == texts(first["summary"], "facts") == ["My sister Ana lives in Porto."]
    assert texts(s, "preferences") == ["I prefer aisle seats."]
    assert s["facts"][0]["memory_ids"] == [first_ids[0]]
    assert texts(s, "decisions") == ["We decided to fly on Friday."]
    assert texts(s, "constraints") == ["Never book red-eye flights."]
    assert (
        "I prefer aisle seats." in second["summary_text"]
        and "Never book red-eye flights." in second["summary_text"]
    )
    assert all(r["status"] == "done" and r["completed_at"] is not None for r in (first, second))
    session = db_conn.execute(
        "SELECT * FROM sessions WHERE namespace = %s AND session_id = 's'", (ns,)
    ).fetchone()
    assert session["condensed_through_turn"] == 6
    assert session["condensed_token_count"] == session["token_count"]


def test_tokens_before_and_after_are_recorded_and_audited(api, ns, db_conn):
    turns = ["I am allergic to peanuts and shellfish.", "Noted, I will avoid peanut dishes.", "ok thanks"]
    ingest(api, ns, "s", turns)
    condense(job(ns, "s", 3))
    (row,) = rows(db_conn, ns)
    assert row["tokens_before"] == sum(count_tokens(t) for t in turns)
    assert row["tokens_after"] == count_tokens(row["summary_text"]) > 0
    audit = db_conn.execute(
        "SELECT * FROM audit_events WHERE namespace = %s AND action = 'condense'", (ns,)
    ).fetchall()
    assert len(audit) == 1 and audit[0]["session_id"] == "s"
    assert (
        audit[0]["details"].items()
        >= {
            "job_id": f"{ns}/s/3",
            "from_turn": 1,
            "to_turn": 3,
            "tokens_before": row["tokens_before"],
            "tokens_after": row["tokens_after"],
            "condensation_id": str(row["id"]),
        }.items()
    )


def test_redelivering_the_same_message_creates_one_summary(api, ns, db_conn):
    ingest(api, ns, "s", ["I prefer window seats.", "We decided to take the train."])
    event = {"Records": [record(job(ns, "s", 2), "m-1")]}
    assert handler(event, lambda_context("condense")) == {"batchItemFailures": []}
    ingest(api, ns, "s", ["I need to renew my passport."])  # new turns must not tempt a redelivery
    assert handler(event, lambda_context("condense")) == {"batchItemFailures": []}
    assert condense(job(ns, "s", 2)) == "skipped"
    (row,) = rows(db_conn, ns)
    assert (row["job_id"], row["from_turn"], row["to_turn"]) == (f"{ns}/s/2", 1, 2)
    audits = db_conn.execute(
        "SELECT count(*) AS n FROM audit_events WHERE namespace = %s AND action = 'condense'", (ns,)
    ).fetchone()
    assert audits["n"] == 1


def test_a_poison_record_fails_alone_in_its_batch(api, ns, db_conn):
    ingest(api, ns, "s", ["I prefer green tea."])
    ingest(api, ns, "t", ["I prefer black coffee."])
    event = {
        "Records": [
            record("{not json", "bad-json"),
            record(job(ns, "s", 1), "good-1"),
            record({"namespace": ns, "session_id": "s"}, "missing-fields"),
            record(job("bad namespace!", "s", 1) | {"job_id": "x"}, "bad-namespace"),
            record(job(ns, "t", 1), "good-2"),
        ]
    }
    response = handler(event, lambda_context("condense"))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {"bad-json", "missing-fields", "bad-namespace"}
    assert len(rows(db_conn, ns, "s")) == 1 and len(rows(db_conn, ns, "t")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"namespace": "n", "session_id": "s", "through_turn": 1},
        {"job_id": "n/s/1", "namespace": "bad ns", "session_id": "s", "through_turn": 1},
        {"job_id": "n/s/0", "namespace": "n", "session_id": "s", "through_turn": 0},
        {"job_id": "n/other/1", "namespace": "n", "session_id": "s", "through_turn": 1},
        ["n", "s", 1],
    ],
)
def test_malformed_jobs_raise_a_typed_error(bad):
    with pytest.raises(InvalidJob):
        condense(bad)


def test_a_body_that_is_not_json_raises_a_typed_error():
    with pytest.raises(InvalidJob):
        condensation.parse_message("{not json")
    with pytest.raises(InvalidJob):
        condensation.parse_message("[1, 2]")


def test_jobs_for_missing_sessions_or_without_new_turns_are_skipped(api, ns, db_conn):
    assert condense(job(ns, "never-existed", 5)) == "skipped"
    ingest(api, ns, "s", ["I prefer tea."])
    assert condense(job(ns, "s", 1)) == "done"
    assert condense(job(ns, "s", 2)) == "skipped"  # nothing new since turn 1
    db_conn.execute("DELETE FROM sessions WHERE namespace = %s AND session_id = 's'", (ns,))  # a reset
    assert condense(job(ns, "s", 3)) == "skipped"
    assert len(rows(db_conn, ns)) == 1
    assert (
        db_conn.execute(
            "SELECT count(*) AS n FROM condensations WHERE namespace = %s AND session_id = 'never-existed'",
            (ns,),
        ).fetchone()["n"]
        == 0
    )


def test_only_live_turns_are_summarized_and_the_range_stays_contiguous(api, ns, db_conn):
    ids = ingest(api, ns, "s", ["I prefer tea.", "My locker code is 4417.", "We decided to use Redis."])
    db_conn.execute("UPDATE memories SET status = 'deleted' WHERE id = %s", (ids[1],))
    condense(job(ns, "s", 3))
    (row,) = rows(db_conn, ns)
    assert (row["from_turn"], row["to_turn"]) == (1, 3)
    assert "4417" not in row["summary_text"]
    assert texts(row["summary"], "preferences") == ["I prefer tea."]
    assert texts(row["summary"], "decisions") == ["We decided to use Redis."]


def test_chinese_turns_yield_classified_items(api, ns, db_conn):
    ingest(
        api,
        ns,
        "zh",
        [
            "我喜欢靠窗的座位。",
            "我们决定使用Redis做缓存。",
            "预算不能超过五千元。",
            "注意：上次部署失败了。",
            "记得提醒我周五交报告。",
            "我的朋友小明在腾讯工作。",
            "好的，谢谢！",
        ],
    )
    condense(job(ns, "zh", 7))
    (row,) = rows(db_conn, ns, "zh")
    s = row["summary"]
    assert texts(s, "preferences") == ["我喜欢靠窗的座位。"]
    assert texts(s, "decisions") == ["我们决定使用Redis做缓存。"]
    assert texts(s, "constraints") == ["预算不能超过五千元。"]
    assert texts(s, "pitfalls") == ["注意：上次部署失败了。"]
    assert texts(s, "open_tasks") == ["记得提醒我周五交报告。"]
    assert texts(s, "facts") == ["我的朋友小明在腾讯工作。"]
    assert "谢谢" not in row["summary_text"]
    assert {"小明", "腾讯"} <= set(texts(s, "entities"))


def test_condensation_feeds_the_entity_layer(api, ns, db_conn):
    ids = ingest(api, ns, "s", ["My sister Ana lives in Porto."])
    condense(job(ns, "s", 1))
    ent = db_conn.execute(
        "SELECT evidence, mention_count FROM entities WHERE namespace = %s AND normalized = 'ana'", (ns,)
    ).fetchone()
    assert ent is not None and [str(e) for e in ent["evidence"]] == ids and ent["mention_count"] == 1


def test_concurrent_ingest_while_condensing_leaves_no_gap(api, ns, db_conn):
    errors: list[Exception] = []

    def writer(w: int) -> None:
        try:
            for i in range(12):
                ingest(api, ns, "s", [f"My locker {w}-{i} code is {w * 1000 + i}."])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    outcomes = []
    n = 0
    while any(t.is_alive() for t in threads):
        n += 1
        outcomes.append(condense(job(ns, "s", n)))
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert not errors
    outcomes.append(condense(job(ns, "s", n + 1)))
    assert "done" in outcomes

    session = db_conn.execute(
        "SELECT * FROM sessions WHERE namespace = %s AND session_id = 's'", (ns,)
    ).fetchone()
    assert session["turn_count"] == 36 and session["condensed_through_turn"] == 36
    covered = []
    for r in rows(db_conn, ns):
        covered += list(range(r["from_turn"], r["to_turn"] + 1))
    tail = list(range(session["condensed_through_turn"] + 1, session["turn_count"] + 1))
    assert covered + tail == list(range(1, session["turn_count"] + 1))  # no gap, no overlap
    latest = rows(db_conn, ns)[-1]["summary"]
    summarized = {mid for item in latest["facts"] for mid in item["memory_ids"]}
    live = {
        str(r["id"])
        for r in db_conn.execute("SELECT id FROM memories WHERE namespace = %s", (ns,)).fetchall()
    }
    assert summarized == live


@pytest.fixture
def sqs(env):
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=env["sqs"].endpoint)


@pytest.fixture
def worker(env):
    w = CondensationWorker()
    w.start()
    yield w
    started = time.monotonic()
    w.stop()
    assert time.monotonic() - started < 3  # stop is prompt


def wait_for(predicate, timeout_s=25.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_the_worker_condenses_jobs_from_the_queue_and_dead_letters_poison(api, ns, db_conn, env, sqs, worker):
    policy_store.put_policy(ns, {"condense_after_turns": 3}, actor=None, request_id=None)
    poison = f"poison {uuid.uuid4()} is not json"
    sqs.send_message(QueueUrl=env["sqs"].queue_url, MessageBody=poison)
    statuses = [
        api.call("POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": t})[1]
        for t in ["I prefer aisle seats.", "We decided to fly on Friday.", "Never book red-eye flights."]
    ]
    assert [s["condensation_enqueued"] for s in statuses] == [False, False, True]

    row = wait_for(lambda: rows(db_conn, ns))[0]
    assert (row["job_id"], row["from_turn"], row["to_turn"]) == (f"{ns}/s/3", 1, 3)

    def poison_in_dlq():
        msgs = sqs.receive_message(
            QueueUrl=env["sqs"].dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        found = [m for m in msgs if m["Body"] == poison]
        for m in found:
            sqs.delete_message(QueueUrl=env["sqs"].dlq_url, ReceiptHandle=m["ReceiptHandle"])
        return found

    assert wait_for(poison_in_dlq)
    assert worker.failed >= 3 and worker.processed >= 1
