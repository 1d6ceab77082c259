"""The console's memory maps over the API: the decay heatmap (/v1/ops/decay, /decay/memories) and
the embedding map (/v1/ops/embedding_map, /embedding_map/query). Figures are checked against
values the test works out itself (the decay formula by hand, a PCA of its own); forgotten
memories are counts only; nothing crosses a namespace."""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

import numpy as np
import pytest

from memos.governance import policy_store
from tests.conftest import Api, make_key

MAP_ROUTES = [
    ("GET", "/v1/ops/decay"),
    ("GET", "/v1/ops/decay/memories"),
    ("GET", "/v1/ops/embedding_map"),
    ("POST", "/v1/ops/embedding_map/query"),
]


def call(api, method, path, ns, key="default", **params):
    if method == "POST":
        return api.call(method, path, {"namespace": ns, "query": "phone number", **params}, key=key)
    query = urlencode({"namespace": ns, **{k: v for k, v in params.items() if v is not None}})
    return api.call(method, f"{path}?{query}", key=key)


def ok(api, path, ns, **params):
    status, body, _ = call(api, "GET", path, ns, **params)
    assert status == 200, body
    return body


def ingest(api, ns, text, kind="episodic", session="s", **extra):
    item = {"namespace": ns, "session_id": session, "role": "user", "text": text, "kind": kind, **extra}
    status, body, _ = api.call("POST", "/v1/ingest", item)
    assert status == 200, body
    return body["memories"][0]


def age(db_conn, memory_id, *, idle_days, occurred_days):
    db_conn.execute(
        "UPDATE memories SET created_at = now() - make_interval(secs => %s),"
        " occurred_at = now() - make_interval(secs => %s) WHERE id = %s",
        (idle_days * 86400, occurred_days * 86400, memory_id),
    )


# --------------------------------------------------------------------------- decay heatmap


def test_decay_map_places_each_memory_by_age_and_current_importance(api, ns, db_conn):
    policy_store.put_policy(
        ns,
        {"decay_half_life_days": 10, "min_importance": 0.1, "ttl_days": {"semantic": 100}},
        actor=None,
        request_id=None,
    )
    fading = ingest(api, ns, "We talked about the spring garden layout", importance=0.8)
    fact = ingest(api, ns, "The office wifi network is called Orchard", kind="semantic", importance=0.6)
    gone = ingest(api, ns, "The old locker code was 4471 before the move")
    expired = ingest(api, ns, "The parking permit number is 88-A for this month")
    age(db_conn, fading["memory_id"], idle_days=9, occurred_days=40)
    age(db_conn, fact["memory_id"], idle_days=2, occurred_days=40)
    assert api.call("DELETE", f"/v1/memories/{gone['memory_id']}")[0] in (200, 204)
    db_conn.execute(
        "UPDATE memories SET expires_at = now() - interval '1 hour' WHERE id = %s", (expired["memory_id"],)
    )

    status, body, _ = call(api, "GET", "/v1/ops/decay", ns)
    assert status == 200, body
    assert body["policy"]["half_life_days"] == 10 and body["policy"]["min_importance"] == 0.1
    assert body["policy"]["ttl_days"]["semantic"] == 100 and body["policy"]["decay_kinds"] == ["episodic"]
    assert body["live"] == body["scanned"] == 2 and body["truncated"] is False
    assert body["forgotten"] == {"expired": 1, "deleted": 1}
    # Forgotten memories are counts only: none of their text is anywhere in the answer.
    raw = json.dumps(body)
    assert "locker" not in raw and "parking" not in raw

    # 0.8·2^(-9/10) = 0.43 after 9 idle days (row 4); 40 days old (column 4: 30–90 d); forgotten
    # when 0.8·2^(-t/10) < 0.1, at t = 30 d, so in 21 days: "fading" (≤ 30 d).
    # The fact does not decay (0.6, row 6) and its 100-day TTL from occurred_at ends in 60 days.
    cells = {(c["age_bucket"], c["importance_bucket"]): c for c in body["cells"]}
    assert set(cells) == {(4, 4), (4, 6)}
    assert cells[(4, 4)]["count"] == 1 and cells[(4, 4)]["state"] == "fading"
    assert cells[(4, 4)]["soonest_forget_days"] == pytest.approx(21, abs=0.05)
    assert cells[(4, 6)]["state"] == "safe" and cells[(4, 6)]["soonest_forget_days"] == pytest.approx(
        60, abs=0.05
    )
    assert body["age_buckets"][4]["low"] == 30 and body["age_buckets"][4]["high"] == 90

    page = ok(api, "/v1/ops/decay/memories", ns, age_bucket=4, importance_bucket=4)
    [m] = page["memories"]
    assert m["memory_id"] == fading["memory_id"] and m["text"] == "We talked about the spring garden layout"
    assert m["importance"] == pytest.approx(0.8 * 2 ** (-9 / 10), abs=0.002)
    assert m["base_importance"] == pytest.approx(0.8) and m["forget_by"] == "decay"
    assert m["forget_in_days"] == pytest.approx(10 * math.log2(0.8 / 0.1) - 9, abs=0.05)
    assert "half-life 10 d" in m["why"] and "below 0.1 in 21 d" in m["why"]
    [f] = ok(api, "/v1/ops/decay/memories", ns, importance_bucket=6)["memories"]
    assert f["forget_by"] == "ttl" and "does not decay" in f["why"] and "TTL 100 d" in f["why"]


def test_retrievals_raise_current_importance_and_the_cell_list_pages_soonest_first(api, ns, db_conn):
    policy_store.put_policy(ns, {"decay_half_life_days": 30}, actor=None, request_id=None)
    ids = [
        ingest(api, ns, t, importance=0.5)["memory_id"]
        for t in ("Alpha notes on the kiln", "Beta notes on glazes", "Gamma notes on clay")
    ]
    for i, mid in enumerate(ids):
        age(db_conn, mid, idle_days=30 + 10 * i, occurred_days=1)
    db_conn.execute("UPDATE memories SET access_count = 3 WHERE id = %s", (ids[0],))
    first = ok(api, "/v1/ops/decay/memories", ns, limit=2)
    assert first["next_cursor"]
    second = ok(api, "/v1/ops/decay/memories", ns, limit=2, cursor=first["next_cursor"])
    listed = [m["memory_id"] for m in first["memories"] + second["memories"]]
    assert sorted(listed) == sorted(ids) and second["next_cursor"] is None
    by_id = {m["memory_id"]: m for m in first["memories"] + second["memories"]}
    # three retrievals close 3/13 of the gap to 0.9, then one half-life of idle time halves it
    assert by_id[ids[0]]["importance"] == pytest.approx((0.5 + 0.4 * 3 / 13) / 2, abs=0.002)
    assert "for 3 retrievals" in by_id[ids[0]]["why"]
    # Soonest forgotten first: the longest idle memory leads; the retrieved one comes last (its
    # reinforced 0.59 takes log2(0.59 / 0.05) half-lives from its last access to reach the floor).
    assert listed == [ids[2], ids[1], ids[0]]
    forget = [m["forget_in_days"] for m in first["memories"] + second["memories"]]
    assert forget[0] < forget[1] < forget[2]
    assert forget[2] == pytest.approx(30 * math.log2((0.5 + 0.4 * 3 / 13) / 0.05) - 30, abs=0.05)
    status, body, _ = call(api, "GET", "/v1/ops/decay/memories", ns, cursor="not-a-number")
    assert status == 422 and body["error"]["details"]


# --------------------------------------------------------------------------- embedding map


def seed_map(api, ns):
    policy_store.put_policy(ns, {"dedup_threshold": 0.6}, actor=None, request_id=None)
    old = ingest(api, ns, "My phone number is 555-0100", kind="semantic")
    new = ingest(api, ns, "My phone number is 555-0199", kind="semantic")
    first = ingest(api, ns, "Book a table for four people at the Italian place on Friday")
    dup = ingest(api, ns, "Book a table for four people at the Italian place on Friday!")
    others = [
        ingest(api, ns, t, session="t")["memory_id"]
        for t in (
            "The espresso machine needs descaling every month",
            "Our hiking trip to the Alps starts in July",
            "Guitar lessons moved to Thursday evenings",
            "Invoices above 10k require two signatures",
        )
    ]
    assert new["status"] == "superseded" and dup["status"] == "duplicate"
    return old, new, first, dup, others


def test_embedding_map_pages_every_mappable_memory_once_with_links_and_a_real_pca(api, ns, db_conn):
    old, new, first, dup, others = seed_map(api, ns)
    gone = ingest(api, ns, "The storage unit gate code is 9191")
    api.call("DELETE", f"/v1/memories/{gone['memory_id']}")

    pages, cursor = [], None
    while True:
        body = ok(api, "/v1/ops/embedding_map", ns, limit=3, cursor=cursor)
        pages.append(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    points = [p for b in pages for p in b["points"]]
    expected = {old["memory_id"], new["memory_id"], first["memory_id"], dup["memory_id"], *others}
    assert len(points) == len(expected) and {p["memory_id"] for p in points} == expected
    assert len(pages) == 3
    by_id = {p["memory_id"]: p for p in points}
    assert by_id[dup["memory_id"]]["status"] == "duplicate"
    assert by_id[dup["memory_id"]]["duplicate_of"] == first["memory_id"]
    assert by_id[old["memory_id"]]["status"] == "superseded"
    assert by_id[old["memory_id"]]["superseded_by"] == new["memory_id"]
    assert by_id[new["memory_id"]]["kind"] == "semantic" and by_id[new["memory_id"]]["status"] == "active"
    # Every live turn of these short sessions is in its L1 window; replaced rows are not.
    assert by_id[first["memory_id"]]["layer"] == "L1" and by_id[old["memory_id"]]["layer"] == "L2"
    assert all(-1 <= p["x"] <= 1 and -1 <= p["y"] <= 1 for p in points)
    body = pages[0]
    assert body["by_status"] == {"active": 6, "duplicate": 1, "superseded": 1}
    assert body["forgotten"] == {"expired": 0, "deleted": 1}
    assert "9191" not in json.dumps(pages)
    proj = body["projection"]
    assert proj["method"] == "pca" and proj["sample_size"] == proj["mappable"] == 8
    assert pages[1]["projection"]["cached"] is True  # same set: the axes come from the cache

    # The axes are the sample's principal components: the test's own PCA gives the same picture
    # (up to each axis' sign and scale).
    rows = db_conn.execute(
        "SELECT id::text AS id, embedding::text AS v FROM memories WHERE namespace = %s"
        " AND status IN ('active', 'duplicate', 'superseded') ORDER BY id",
        (ns,),
    ).fetchall()
    x = np.array([json.loads(r["v"]) for r in rows])
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    mine = centred @ vt[:2].T
    theirs = np.array([[by_id[r["id"]]["x"], by_id[r["id"]]["y"]] for r in rows])
    for axis in range(2):
        assert abs(np.corrcoef(mine[:, axis], theirs[:, axis])[0, 1]) > 0.999
    assert proj["explained_variance"][0] == pytest.approx(s[0] ** 2 / (s**2).sum(), abs=1e-3)

    ingest(api, ns, "The bakery on the corner opens at seven")  # the set changed: refitted
    again = ok(api, "/v1/ops/embedding_map", ns)
    assert again["projection"]["cached"] is False and again["projection"]["mappable"] == 9


def test_a_query_lands_on_the_map_with_the_candidates_query_keeps_and_filters(api, ns):
    old, _new, _first, dup, _ = seed_map(api, ns)
    expected = api.call(
        "POST",
        "/v1/query",
        {"namespace": ns, "query": "phone number table Italian", "include_filtered": True},
    )[1]
    status, body, _ = api.call(
        "POST", "/v1/ops/embedding_map/query", {"namespace": ns, "query": "phone number table Italian"}
    )
    assert status == 200, body
    assert [k["memory_id"] for k in body["kept"]] == [r["memory_id"] for r in expected["results"]]
    assert [k["rank"] for k in body["kept"]] == list(range(1, len(body["kept"]) + 1))
    reasons = {f["memory_id"]: f["reason"] for f in body["filtered"]}
    assert reasons[old["memory_id"]] == "superseded" and reasons[dup["memory_id"]] == "duplicate"
    assert -1 <= body["x"] <= 1 and -1 <= body["y"] <= 1 and body["forgotten_filtered"] == 0
    # The same memory sits at the same place on the map and in the overlay.
    points = {p["memory_id"]: p for p in ok(api, "/v1/ops/embedding_map", ns)["points"]}
    for c in body["kept"] + body["filtered"]:
        assert (c["x"], c["y"]) == (points[c["memory_id"]]["x"], points[c["memory_id"]]["y"])
    status, err, _ = api.call("POST", "/v1/ops/embedding_map/query", {"namespace": ns, "query": ""})
    assert status == 422 and err["error"]["details"]


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(("method", "path"), MAP_ROUTES)
def test_a_key_for_namespace_a_gets_403_for_namespace_b_and_the_maps_need_ops_read(api, ns, method, path):
    ingest(api, ns, "Namespace B keeps the vault code in the blue folder")
    tenant_a = Api(make_key(["ops:read", "memory:read"], [f"{ns}-a"]))
    status, body, _ = call(tenant_a, method, path, ns)
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "vault" not in json.dumps(body)
    status, body, _ = call(tenant_a, method, path, f"{ns}-a")
    assert status == 200, body  # its own namespace answers (empty)
    reader = Api(make_key(["memory:read"], ["*"]))
    status, body, _ = call(reader, method, path, ns)
    assert status == 403 and "ops:read" in body["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/ops/decay", "/v1/ops/embedding_map", "/v1/ops/decay/memories"])
def test_the_maps_need_a_namespace(api, path):
    status, body, _ = api.call("GET", path)
    assert status == 422 and body["error"]["code"] in ("validation_error", "unprocessable")


def test_an_empty_namespace_maps_to_nothing(api, ns):
    body = ok(api, "/v1/ops/embedding_map", ns)
    assert body["points"] == [] and body["projection"]["sample_size"] == 0
    decay = ok(api, "/v1/ops/decay", ns)
    assert decay["cells"] == [] and decay["live"] == 0
