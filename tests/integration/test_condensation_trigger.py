"""Ingest enqueues one condensation job per threshold crossing, on SQS (moto)."""

from __future__ import annotations

import json

import boto3


def drain(env) -> list[dict]:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=env["sqs"].endpoint)
    out = []
    while True:
        msgs = sqs.receive_message(
            QueueUrl=env["sqs"].queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=env["sqs"].queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_crossing_the_turn_threshold_enqueues_once(api, ns, env):
    drain(env)
    flags = []
    for i in range(25):  # default policy: 20 turns
        body = api.call(
            "POST",
            "/v1/ingest",
            {"namespace": ns, "session_id": "s", "role": "user", "text": f"message number {i}"},
        )[1]
        flags.append(body["condensation_enqueued"])
    assert flags.index(True) == 19 and flags.count(True) == 1
    jobs = [j for j in drain(env) if j["namespace"] == ns]
    assert jobs == [{"job_id": f"{ns}/s/20", "namespace": ns, "session_id": "s", "through_turn": 20}]


def test_a_job_the_queue_did_not_take_stays_in_the_outbox_until_sent_again(
    api, ns, env, db_conn, monkeypatch
):
    from memos.governance import trigger

    drain(env)
    real_client = trigger.sqs_client()

    class Down:
        def send_message_batch(self, **_: object) -> dict:
            raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(trigger, "sqs_client", lambda: Down())
    for i in range(20):
        api.call(
            "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": f"note {i}"}
        )
    assert [j for j in drain(env) if j["namespace"] == ns] == []
    row = db_conn.execute(
        "SELECT condense_enqueued_turn, condense_unsent_since FROM sessions WHERE namespace = %s", (ns,)
    ).fetchone()
    assert row["condense_enqueued_turn"] == 20 and row["condense_unsent_since"] is not None

    monkeypatch.setattr(trigger, "sqs_client", lambda: real_client)
    assert trigger.resend_unsent(older_than_s=3600) == 0  # too recent: the process may still send it
    trigger.resend_unsent(older_than_s=0)
    jobs = [j for j in drain(env) if j["namespace"] == ns]
    assert jobs == [{"job_id": f"{ns}/s/20", "namespace": ns, "session_id": "s", "through_turn": 20}]
    row = db_conn.execute("SELECT condense_unsent_since FROM sessions WHERE namespace = %s", (ns,)).fetchone()
    assert row["condense_unsent_since"] is None
    trigger.resend_unsent(older_than_s=0)  # nothing left: not sent twice
    assert [j for j in drain(env) if j["namespace"] == ns] == []


def test_a_sent_job_leaves_the_outbox(api, ns, env, db_conn):
    drain(env)
    for i in range(20):
        api.call(
            "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": f"note {i}"}
        )
    row = db_conn.execute(
        "SELECT condense_enqueued_turn, condense_unsent_since FROM sessions WHERE namespace = %s", (ns,)
    ).fetchone()
    assert row["condense_enqueued_turn"] == 20 and row["condense_unsent_since"] is None
    assert len([j for j in drain(env) if j["namespace"] == ns]) == 1
