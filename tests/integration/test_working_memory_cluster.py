"""L1 windows on a cluster-mode Redis (what ElastiCache Serverless is): a batch's sessions live in
different slots, and their pushes still go in one pipeline."""

from __future__ import annotations

from memos.working_memory import ACTIVE_KEY, WorkingMemory, window_key
from tests.integration.test_rate_limit import cluster_redis  # noqa: F401  (the fixture)


def test_one_pipeline_pushes_the_windows_of_sessions_in_different_slots(cluster_redis):  # noqa: F811
    l1 = WorkingMemory(cluster_redis)
    sessions = [f"s{i}" for i in range(12)]
    assert len({cluster_redis.keyslot(window_key("ns-c", s)) for s in sessions}) > 1
    turns = {s: ([{"memory_id": f"{s}-1"}, {"memory_id": f"{s}-2"}], True) for s in sessions}
    assert l1.push_many("ns-c", turns, size=5, ttl_s=60) is True
    assert l1.push_many("ns-c", {"s0": ([{"memory_id": "s0-3"}], False)}, size=5, ttl_s=60) is True
    assert l1.push_many("ns-c", {"absent": ([{"memory_id": "x"}], False)}, size=5, ttl_s=60) is True

    assert cluster_redis.lrange(window_key("ns-c", "s0"), 0, -1) == [
        '{"memory_id": "s0-3"}',
        '{"memory_id": "s0-2"}',
        '{"memory_id": "s0-1"}',
    ]
    assert cluster_redis.llen(window_key("ns-c", "s11")) == 2
    assert cluster_redis.exists(window_key("ns-c", "absent")) == 0  # LPUSHX: a missing window stays missing
    members = set(cluster_redis.zrange(ACTIVE_KEY, 0, -1))
    assert {"ns-c\x1f" + s for s in sessions} <= members
