"""L3 entities against real PostgreSQL: alias merging, evidence, relations, isolation, the API."""

from __future__ import annotations

from uuid import UUID

from memos.governance.entities import list_entities, memory_entity_overlap, query_entities, record_mentions
from memos.store import db
from tests.conftest import Api, make_key


def ingest(api, ns, texts, session="s"):
    items = [{"session_id": session, "role": "user", "text": t} for t in texts]
    status, body, _ = api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})
    assert status == 200, body
    return [UUID(m["memory_id"]) for m in body["memories"]]


def record(ns, ids, texts):
    with db.connection() as conn:
        record_mentions(conn, ns, list(zip(ids, texts, strict=True)))
        conn.commit()


def entities_by_name(ns, q=None):
    with db.connection() as conn:
        return {e["normalized"]: e for e in list_entities(conn, ns, q, 100)}


def relations(entity):
    return {(r["subject"], r["predicate"], r["object"]) for r in entity["relations"]}


TEXTS = [
    "My sister Ana Silva lives in Porto.",
    "Ana works at Acme Corp.",
    "We visited Fushimi Inari with Ana.",
    "Ana's birthday is in May.",
]


def test_mentions_merge_by_alias_and_accumulate_evidence_and_relations(api, ns):
    ids = ingest(api, ns, TEXTS)
    for mid, text in zip(ids, TEXTS, strict=True):  # one memory at a time, as ingest calls it
        record(ns, [mid], [text])
    found = entities_by_name(ns)
    ana = found["ana silva"]
    assert ana["name"] == "Ana Silva" and ana["type"] == "person" and "ana" not in found
    assert "ana" in ana["aliases"]
    assert ana["evidence"] == ids and ana["mention_count"] == 4
    assert found["porto"]["type"] == "place" and found["acme corp"]["type"] == "org"
    assert found["fushimi inari"]["evidence"] == [ids[2]]
    assert relations(ana) == {
        ("user", "sister", "Ana Silva"),
        ("Ana Silva", "lives_in", "Porto"),
        ("Ana Silva", "works_at", "Acme Corp"),
    }
    sister = next(r for r in ana["relations"] if r["predicate"] == "sister")
    assert sister["evidence"] == [ids[0]]


def test_recording_the_same_memory_again_changes_nothing(api, ns):
    ids = ingest(api, ns, TEXTS[:2])
    record(ns, ids, TEXTS[:2])
    before = entities_by_name(ns)
    record(ns, ids, TEXTS[:2])
    after = entities_by_name(ns)
    assert {k: (v["evidence"], v["mention_count"]) for k, v in after.items()} == {
        k: (v["evidence"], v["mention_count"]) for k, v in before.items()
    }


def test_a_first_name_seen_first_becomes_the_full_name_later(api, ns):
    texts = ["I had lunch with Bob yesterday.", "My friend Bob Stone lives in Oslo."]
    ids = ingest(api, ns, texts)
    record(ns, ids[:1], texts[:1])
    record(ns, ids[1:], texts[1:])
    found = entities_by_name(ns)
    assert "bob" not in found
    assert found["bob stone"]["evidence"] == ids and found["bob stone"]["aliases"] == ["bob"]


def test_an_ambiguous_first_name_stays_its_own_entity(api, ns):
    texts = ["My sister Ana Silva called.", "My colleague Ana Costa called.", "I saw Ana at the gym."]
    ids = ingest(api, ns, texts)
    for mid, text in zip(ids, texts, strict=True):
        record(ns, [mid], [text])
    found = entities_by_name(ns)
    assert {"ana silva", "ana costa", "ana"} <= set(found)
    assert found["ana"]["evidence"] == [ids[2]]


def test_several_names_of_one_batch_resolve_against_stored_people_each_on_its_own(api, ns):
    stored = ["My sister Ana Silva called.", "I had lunch with Bob yesterday.", "My friend Carl Diaz called."]
    ids = ingest(api, ns, stored)
    for mid, text in zip(ids, stored, strict=True):
        record(ns, [mid], [text])
    # One batch: "Ana" and "Carl" are first names of one stored person each; "Bob Stone" takes over the
    # entity stored as "Bob"; "Dora" starts a sentence and nobody by that name is known.
    batch = [
        "Ana came over for dinner.",
        "Carl brought wine.",
        "My friend Bob Stone lives in Oslo.",
        "Dora left.",
    ]
    later = ingest(api, ns, batch, session="t")
    record(ns, later, batch)
    found = entities_by_name(ns)
    assert found["ana silva"]["evidence"] == [ids[0], later[0]] and "ana" not in found
    assert found["carl diaz"]["evidence"] == [ids[2], later[1]] and "carl" not in found
    assert found["bob stone"]["evidence"] == [ids[1], later[2]] and found["bob stone"]["aliases"] == ["bob"]
    assert "dora" not in found


def test_namespaces_are_isolated(api, ns):
    other = ns + "-other"
    ids = ingest(api, ns, TEXTS[:1])
    other_ids = ingest(api, other, ["My friend Zoe lives in Porto."])
    record(ns, ids, TEXTS[:1])
    record(other, other_ids, ["My friend Zoe lives in Porto."])
    mine, theirs = entities_by_name(ns), entities_by_name(other)
    assert mine["porto"]["evidence"] == ids and theirs["porto"]["evidence"] == other_ids
    assert "zoe" not in mine and "ana silva" not in theirs
    with db.connection() as conn:
        assert query_entities(conn, ns, "Where does Zoe live?") == set()
        assert query_entities(conn, other, "Where does Zoe live?") == {"zoe"}


def test_a_query_finds_known_entities_by_name_and_by_alias_in_its_own_namespace_only(api, ns):
    from memos.governance.entities import names_to_look_up
    from memos.store import first_reads

    other = ns + "-other"
    ids = ingest(api, ns, TEXTS)
    for mid, text in zip(ids, TEXTS, strict=True):
        record(ns, [mid], [text])
    record(other, ingest(api, other, ["Ana Costa moved to Lisbon."]), ["Ana Costa moved to Lisbon."])
    question = "Does Ana still work at Acme Corp?"  # "ana" is an alias of Ana Silva here
    with db.connection() as conn:
        assert query_entities(conn, ns, question) == {"ana silva", "acme corp"}
        first = first_reads.read(conn, ns, [], names_to_look_up(question))
        assert first.known == {"ana": "ana silva", "acme corp": "acme corp"}
        assert query_entities(conn, other, "Where is Ana Silva now?") == set()
        conn.rollback()


def test_list_filter_by_q_matches_names_and_aliases(api, ns):
    ids = ingest(api, ns, TEXTS)
    record(ns, ids, TEXTS)
    assert set(entities_by_name(ns, "port")) == {"porto"}
    assert set(entities_by_name(ns, "ANA")) == {"ana silva"}
    assert entities_by_name(ns, "nobody") == {}


def test_entities_of_forgotten_memories_are_not_listed(api, ns, db_conn):
    texts = ["We visited Fushimi Inari.", "My sister Ana lives in Porto."]
    ids = ingest(api, ns, texts)
    record(ns, ids, texts)
    db_conn.execute("UPDATE memories SET status = 'deleted' WHERE id = %s", (ids[0],))
    assert "fushimi inari" not in entities_by_name(ns) and "porto" in entities_by_name(ns)


def test_query_entities_and_memory_overlap_feed_retrieval(api, ns):
    ids = ingest(api, ns, [*TEXTS, "I prefer aisle seats."])
    record(ns, ids, [*TEXTS, "I prefer aisle seats."])
    with db.connection() as conn:
        q = query_entities(conn, ns, "Does ana still live in Porto?")
        assert q == {"ana silva", "porto"}
        overlap = memory_entity_overlap(conn, ns, q, ids)
    assert overlap[ids[0]] == 1.0  # mentions both
    assert overlap[ids[1]] == 0.5  # Ana only
    assert overlap[ids[4]] == 0.0


def test_memory_overlap_uses_given_counts_and_reads_the_others(api, ns):
    ids = ingest(api, ns, [*TEXTS, "I prefer aisle seats."])
    record(ns, ids, [*TEXTS, "I prefer aisle seats."])
    q = {"ana silva", "porto"}
    with db.connection() as conn:
        # ids[0]'s count given (and deliberately not its stored one: the given count wins), ids[4]'s
        # given as 0; ids[1] (Ana only) and ids[3] read from the evidence lists.
        overlap = memory_entity_overlap(conn, ns, q, [ids[0], ids[1], ids[4]], counted={ids[0]: 1, ids[4]: 0})
        read_only = memory_entity_overlap(conn, ns, q, [ids[1]])
    assert list(overlap) == [ids[0], ids[1], ids[4]]
    assert overlap == {ids[0]: 0.5, ids[1]: 0.5, ids[4]: 0.0}
    assert read_only == {ids[1]: 0.5}
    with db.connection() as conn:
        assert memory_entity_overlap(conn, ns, set(), [ids[0]]) == {ids[0]: 0.0}


def test_chinese_mentions_and_relations(api, ns):
    texts = ["我的朋友小明在腾讯工作。", "小明喜欢《三体》。"]
    ids = ingest(api, ns, texts)
    record(ns, ids, texts)
    found = entities_by_name(ns)
    assert found["小明"]["type"] == "person" and found["腾讯"]["type"] == "org"
    assert relations(found["小明"]) == {("user", "friend", "小明"), ("小明", "works_at", "腾讯")}
    with db.connection() as conn:
        assert query_entities(conn, ns, "小明在哪里工作？") == {"小明"}


def test_get_entities_through_the_api(api, ns):
    ids = ingest(api, ns, TEXTS)
    record(ns, ids, TEXTS)
    status, body, headers = api.call("GET", f"/v1/entities?namespace={ns}&q=ana")
    assert status == 200 and headers["x-request-id"]
    (ana,) = body["entities"]
    assert ana["name"] == "Ana Silva" and ana["evidence"] == [str(i) for i in ids]
    assert {
        "subject": "Ana Silva",
        "predicate": "lives_in",
        "object": "Porto",
        "evidence": [str(ids[0])],
    } in ana["relations"]
    status, body, _ = api.call("GET", f"/v1/entities?namespace={ns}&limit=2")
    assert status == 200 and len(body["entities"]) == 2
    assert body["entities"][0]["normalized"] == "ana silva"  # most mentioned first


def test_get_entities_rejects_bad_input_and_other_namespaces(api, ns):
    status, body, _ = api.call("GET", f"/v1/entities?namespace={ns}&limit=0")
    assert status == 422 and body["error"]["code"] == "validation_error"
    status, body, _ = api.call("GET", "/v1/entities?namespace=bad%20ns")
    assert status == 422
    ids = ingest(api, ns, TEXTS[:1])
    record(ns, ids, TEXTS[:1])
    outsider = Api(make_key(["memory:read"], [ns + "-mine"]))
    status, body, _ = outsider.call("GET", f"/v1/entities?namespace={ns}")
    assert status == 403 and body["error"]["code"] == "forbidden" and "Porto" not in str(body)
    no_scope = Api(make_key(["memory:write"], [ns]))
    assert no_scope.call("GET", f"/v1/entities?namespace={ns}")[0] == 403
    assert api.call("GET", f"/v1/entities?namespace={ns}", key=None)[0] == 401


def test_entity_search_matches_the_start_of_a_word_not_any_substring(api, ns):
    texts = [
        "My friend Ana Silva lives in Porto.",
        "We listened to Santana all night.",
        "I bought a jacket at Banana Republic.",
        "My colleague Maria Ana works at Acme Corp.",
    ]
    ids = ingest(api, ns, texts)
    record(ns, ids, texts)
    assert set(entities_by_name(ns, "ana")) == {"ana silva", "maria ana"}
    assert set(entities_by_name(ns, "ana s")) == {"ana silva"}
    assert "santana" in entities_by_name(ns, "santa")  # a word's start still matches


def test_chinese_entity_search_still_matches_inside_a_name(api, ns):
    texts = ["我的朋友小明在腾讯工作。"]
    ids = ingest(api, ns, texts)
    record(ns, ids, texts)
    assert set(entities_by_name(ns, "明")) == {"小明"}
