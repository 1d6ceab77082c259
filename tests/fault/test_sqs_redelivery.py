"""SQS at-least-once against a real (moto) queue with a redrive policy, through the local worker
and the condense handler: duplicate sends, an abandoned receive and poison messages. Never a
second summary, poison ends in the DLQ, and no job condenses another namespace's turns."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.local.workers import CondensationWorker
from memos.governance import policy_store
from tests.services import env_override


@dataclass
class Queue:
    queue_url: str
    dlq_url: str


@pytest.fixture
def queue(env) -> Iterator[tuple[Queue, Any]]:
    """A queue pair of this test's own on the moto server, redriving after two receives."""
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url=env["sqs"].endpoint)
    name = f"fault-{uuid.uuid4().hex[:8]}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = client.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "0",  # a failed record is back at once
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    try:
        with env_override(MEMOS_CONDENSE_QUEUE_URL=queue_url, MEMOS_CONDENSE_DLQ_URL=dlq_url):
            yield Queue(queue_url, dlq_url), client
    finally:
        for url in (queue_url, dlq_url):
            client.delete_queue(QueueUrl=url)


def ingest(api, ns, texts) -> list[str]:
    policy_store.put_policy(
        ns, {"condense_after_turns": 50}, actor=None, request_id=None
    )  # jobs sent by the test
    ids = []
    for text in texts:
        status, body, _ = api.call(
            "POST", "/v1/ingest", {"namespace": ns, "session_id": "s", "role": "user", "text": text}
        )
        assert status == 200, body
        ids.append(body["memories"][0]["memory_id"])
    return ids


def job(ns: str, through: int) -> dict[str, Any]:
    return {"job_id": f"{ns}/s/{through}", "namespace": ns, "session_id": "s", "through_turn": through}


def drain_queue(worker: CondensationWorker) -> None:
    """Poll until two receives in a row come back empty (bounded by a count, not a clock)."""
    empty = 0
    for _ in range(200):
        done, failed = worker.poll_once()
        empty = empty + 1 if done == failed == 0 else 0
        if empty == 2:
            return
    raise AssertionError("the queue never emptied")


def all_messages(client: Any, url: str) -> list[str]:
    bodies = []
    while True:
        msgs = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not msgs:
            return bodies
        for m in msgs:
            bodies.append(m["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_redelivered_jobs_make_one_summary_and_poison_goes_to_the_dlq(api, ns, db_conn, queue):
    sqs, client = queue
    other = f"t-other-{uuid.uuid4().hex[:8]}"
    ingest(api, ns, ["I prefer aisle seats.", "We decided to fly on Friday.", "Never book red-eye flights."])
    ingest(api, other, ["Other tenant prefers the ferry.", "Other tenant decided on Tuesday."])
    mine = json.dumps(job(ns, 3))
    for _ in range(3):  # the producer retried: three copies of one job
        client.send_message(QueueUrl=sqs.queue_url, MessageBody=mine)
    client.send_message(QueueUrl=sqs.queue_url, MessageBody=json.dumps(job(other, 2)))
    # A consumer that crashed after receiving: the message is redelivered.
    taken = client.receive_message(QueueUrl=sqs.queue_url, MaxNumberOfMessages=1)["Messages"]
    assert len(taken) == 1
    poison = [
        f"poison {uuid.uuid4()} is not json",
        json.dumps(job(other, 2) | {"job_id": f"{ns}/s/3"}),  # names one tenant, points at another
        json.dumps({"job_id": f"{ns}/s/0", "namespace": ns, "session_id": "s", "through_turn": 0}),
    ]
    for body in poison:
        client.send_message(QueueUrl=sqs.queue_url, MessageBody=body)

    worker = CondensationWorker(sqs.queue_url, wait_s=0)
    drain_queue(worker)

    for space, through, own, foreign in [
        (ns, 3, "aisle seats", "Other tenant"),
        (other, 2, "Tuesday", "aisle"),
    ]:
        rows = db_conn.execute(
            "SELECT job_id, status, from_turn, to_turn, summary_text FROM condensations WHERE namespace = %s",
            (space,),
        ).fetchall()
        assert [(r["job_id"], r["status"], r["from_turn"], r["to_turn"]) for r in rows] == [
            (f"{space}/s/{through}", "done", 1, through)
        ]
        assert own in rows[0]["summary_text"] and foreign not in rows[0]["summary_text"]
        audits = db_conn.execute(
            "SELECT count(*) AS n FROM audit_events WHERE namespace = %s AND action = 'condense'", (space,)
        ).fetchone()
        assert audits["n"] == 1
    assert sorted(all_messages(client, sqs.dlq_url)) == sorted(poison)
    assert all_messages(client, sqs.queue_url) == []
    assert worker.failed >= len(poison) * 2  # each poison message was tried maxReceiveCount times
