"""POST /events, the batch endpoint: validation through Flask's test client (the Kafka
producer is real and points at a closed port), then the real stack: every event of a
200 is on the topic and lands in hive_events, and a batch Kafka only partly takes gets
a 503 that lists what it stored."""
import json

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition

from conftest import API, presto_rows, wait_for
from game_events import catalogue, config
from game_events.api import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, EventLog, create_app, send_all

GOOD = {"event_type": "get_paid", "user": "a", "amount": "1"}

# (events, index, field) for bodies with one bad element among good ones
BAD_ELEMENTS = [
    ([GOOD, {"event_type": "purchase_sword", "user": "a", "type": "wood"}], 1, "type"),
    ([{"event_type": "purchase_sword", "type": "gold"}], 0, "user"),
    ([GOOD, GOOD, {"event_type": "get_paid", "user": "", "amount": "1"}], 2, "user"),
    ([{"event_type": "get_paid", "user": "a", "amount": 1.5}], 0, "amount"),
    ([{"event_type": "get_paid", "user": "a", "amount": -1}], 0, "amount"),
    ([{"event_type": "get_paid", "user": "a", "amount": 10**10}], 0, "amount"),
    ([{"event_type": "get_paid", "user": "a", "amount": True}], 0, "amount"),
    ([{"event_type": "join_a_guild", "user": "a", "name": "g" * (catalogue.MAX_TEXT + 1)}], 0, "name"),
    ([{"event_type": "quit_guild", "user": "a\u0001", "name": "g"}], 0, "user"),
    ([{"event_type": "quit_guild", "user": 7, "name": "g"}], 0, "user"),
    # The server sets derived fields and headers; a client may not.
    ([{"event_type": "purchase_sword", "user": "a", "type": "gold", "price": 0}], 0, "price"),
    ([{"event_type": "get_paid", "user": "a", "amount": "1", "host": "forged"}], 0, "host"),
    ([GOOD, {"event_type": "summon_dragon", "user": "a"}], 1, "event_type"),
    ([{"user": "a"}], 0, "event_type"),
    ([GOOD, ["get_paid"]], 1, "event_type"),
]


@pytest.fixture(scope="module")
def client():
    return create_app(EventLog("127.0.0.1:1", ack_timeout_s=0.5)).test_client()


@pytest.mark.parametrize("events,index,field", BAD_ELEMENTS)
def test_a_bad_element_is_400_naming_index_and_field(client, events, index, field):
    resp = client.post("/events", json=events)
    assert resp.status_code == 400, resp.data
    assert (resp.json["index"], resp.json["field"]) == (index, field) and resp.json["error"]


def test_a_repeated_key_is_400_naming_index_and_field(client):
    body = '[{"event_type":"get_paid","user":"a","amount":"1"},{"event_type":"get_paid","user":"a","user":"b","amount":"1"}]'
    resp = client.post("/events", data=body, content_type="application/json")
    assert resp.status_code == 400 and (resp.json["index"], resp.json["field"]) == (1, "user")


@pytest.mark.parametrize("body,status", [
    (b"", 400), (b"{}", 400), (b"[]", 400), (b"not json", 400), (b"[NaN]", 400), (b'["\xff"]', 400),
    (json.dumps([GOOD] * (MAX_BATCH_EVENTS + 1)).encode(), 413),
    (b"[" + b" " * MAX_BATCH_BYTES + b"]", 413),
], ids=["empty", "object", "no events", "not json", "NaN", "invalid UTF-8", "too many events", "too long"])
def test_a_bad_body_is_refused(client, body, status):
    resp = client.post("/events", data=body, content_type="application/json")
    assert resp.status_code == status, resp.data
    assert resp.json["field"] == "body" and "index" not in resp.json


def test_valid_events_without_kafka_are_503_listing_none_stored(client):
    resp = client.post("/events", json=[GOOD, {**GOOD, "amount": 2}])
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert resp.json["stored"] == [] and resp.json["retry"] == [0, 1]


def test_only_post(client):
    assert client.get("/events").status_code == 405


def topic_records(start: int, tag: str, topic: str = config.TOPIC) -> list[dict]:
    c = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP, consumer_timeout_ms=5000, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, start)
    # The topic may hold tombstones (a null value) from other tests: the stream quarantines those.
    out = [json.loads(r.value) for r in c if r.value is not None and tag.encode() in r.value]
    c.close()
    return out


def topic_end() -> int:
    c = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP)
    tp = TopicPartition(config.TOPIC, 0)
    end = c.end_offsets([tp])[tp]
    c.close()
    return end


def mixed_batch(tag: str, n: int) -> list[dict]:
    kinds = [
        lambda i: {"event_type": "purchase_sword", "user": f"u{i}-{tag}", "type": ("gold", "silver", "bronze")[i % 3]},
        lambda i: {"event_type": "join_a_guild", "user": f"u{i}-{tag}", "name": "knights"},
        lambda i: {"event_type": "quit_guild", "user": f"u{i}-{tag}", "name": "knights"},
        lambda i: {"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i},
        lambda i: {"event_type": "default"},
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


@pytest.mark.stack
def test_a_batch_is_stored_whole_and_lands(pipeline, tag):
    start = topic_end()
    events = mixed_batch(tag, 500)
    resp = requests.post(f"{API}/events", json=events, headers={"Host": "batch.example", "User-Agent": "bench"},
                         timeout=30)
    assert resp.status_code == 200 and resp.json() == {"stored": 500}
    on_topic = topic_records(start, tag)
    sent = [e for e in events if e["event_type"] != "default"]
    want = [{"Accept": "*/*", "Host": "batch.example", "User-Agent": "bench",
             **catalogue.EVENTS[e["event_type"]].build({k: str(v) for k, v in e.items()})} for e in sent]
    assert sorted(on_topic, key=lambda e: e["user"]) == sorted(want, key=lambda e: e["user"])
    rows, _ = wait_for(lambda: (lambda r: r if sum(n for _, n in r) == len(sent) else None)(presto_rows(
        f"select event_type, count(*) from hive_events where user like '%-{tag}' group by 1")),
        90, what="the batch in hive_events")
    assert dict(rows) == {"purchase_sword": 100, "join_a_guild": 100, "quit_guild": 100, "get_paid": 100}
    assert presto_rows(f"select sum(price), max(amount), min(host) from hive_events where user like '%-{tag}'") \
        == [(sum(catalogue.SWORD_PRICES[("gold", "silver", "bronze")[i % 3]] for i in range(0, 500, 5)), 498,
             "batch.example")]


@pytest.mark.stack
def test_a_bad_element_sends_nothing(pipeline, tag):
    start = topic_end()
    events = mixed_batch(tag, 20) + [{"event_type": "get_paid", "user": f"x-{tag}", "amount": "lots"}]
    resp = requests.post(f"{API}/events", json=events, timeout=30)
    assert resp.status_code == 400 and (resp.json()["index"], resp.json()["field"]) == (20, "amount")
    assert requests.post(f"{API}/events", json=[{**GOOD, "user": f"sentinel-{tag}"}], timeout=30).ok
    assert [e["user"] for e in topic_records(start, tag)] == [f"sentinel-{tag}"]


@pytest.mark.stack
def test_kafka_refusing_part_of_a_batch_reports_what_it_stored(pipeline, tag):
    """The real producer refuses an event over its request size: the events before it are
    stored and listed, it and the rest are not (send_all stops at the first refusal)."""
    topic = f"batch-test-{tag}"  # its own topic: these are not events for the stream
    events = [{"user": f"u{i}-{tag}"} for i in range(4)]
    events[2]["pad"] = "x" * (2 * 1024 * 1024)
    log = EventLog(config.KAFKA_BOOTSTRAP, ack_timeout_s=5)
    app = create_app(log)
    with app.app_context():
        assert send_all(log, topic, events) == [0, 1]
    assert [e["user"] for e in topic_records(0, tag, topic)] == [f"u0-{tag}", f"u1-{tag}"]
