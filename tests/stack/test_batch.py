"""POST /events on the real stack: every event of a 200 is on the topic and lands in
hive_events, a bad element sends nothing, and a batch Kafka only partly takes gets a
reply that lists what it stored."""
import pytest
import requests

from game_events import settings, topic
from game_events.api import create_app
from game_events.api.batch import send_all
from game_events.api.event_log import EventLog
from tests.support.data import mixed_batch
from tests.support.engines import presto_rows, topic_end, topic_events
from tests.support.load import assert_same_rows, expected_row, landed_rows
from tests.support.waits import wait_for

API = settings.API_URL
pytestmark = pytest.mark.timeout(300, func_only=True)


def test_a_batch_is_stored_whole_and_lands(pipeline, tag):
    start = topic_end()
    events = mixed_batch(tag, 500)
    resp = requests.post(f"{API}/events", json=events, headers={"Host": "batch.example", "User-Agent": "bench"},
                         timeout=30)
    assert resp.status_code == 200 and resp.json()["stored"] == 500
    ids = resp.json()["ids"]  # the API's, one for each element, in order
    assert len(set(ids)) == 500
    on_topic = topic_events(start, tag)
    sent = [(e, i) for e, i in zip(events, ids) if e["event_type"] != "default"]
    # What the API must write for each element and the stream land, with the prices and
    # fee pinned by hand and the id the reply gave it.
    want = [expected_row(e["event_type"], {k: str(v) for k, v in e.items()},
                         {"Accept": "*/*", "Host": "batch.example", "User-Agent": "bench"}, i) for e, i in sent]
    assert sorted(on_topic, key=lambda e: e["user"]) == sorted((w["raw_event"] for w in want), key=lambda e: e["user"])
    rows, _ = wait_for(lambda: (lambda r: r if sum(n for _, n in r) == len(sent) else None)(presto_rows(
        f"select event_type, count(*) from hive_events where user like '%-{tag}' group by 1")),
        90, what="the batch in hive_events")
    assert dict(rows) == {"purchase_sword": 100, "join_a_guild": 100, "quit_guild": 100, "get_paid": 100}
    assert_same_rows(landed_rows(f"\"user\" like '%-{tag}'"), want, "the batch in hive_events")


def test_a_bad_element_sends_nothing(pipeline, tag):
    start = topic_end()
    events = mixed_batch(tag, 20) + [{"event_type": "get_paid", "user": f"x-{tag}", "amount": "lots"}]
    resp = requests.post(f"{API}/events", json=events, timeout=30)
    assert resp.status_code == 400 and (resp.json()["index"], resp.json()["field"]) == (20, "amount")
    assert requests.post(f"{API}/events", json=[{"event_type": "get_paid", "user": f"sentinel-{tag}",
                                                 "amount": "1"}], timeout=30).ok
    assert [e["user"] for e in topic_events(start, tag)] == [f"sentinel-{tag}"]


def test_kafka_refusing_part_of_a_batch_reports_what_it_stored(pipeline, tag):
    """The real producer refuses an event over its request size: the events before it are
    stored and listed, it and the rest are not (send_all stops at the first refusal)."""
    name = f"batch-test-{tag}"  # its own topic: these are not events for the stream
    topic.create(name)
    events = [{"user": f"u{i}-{tag}"} for i in range(4)]
    events[2]["pad"] = "x" * (2 * 1024 * 1024)
    log = EventLog(settings.KAFKA_BOOTSTRAP, ack_timeout_s=5)
    app = create_app(log)
    with app.app_context():
        assert send_all(log, name, events) == [0, 1]
    assert [e["user"] for e in topic_events(0, tag, name)] == [f"u0-{tag}", f"u1-{tag}"]
