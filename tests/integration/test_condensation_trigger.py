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
