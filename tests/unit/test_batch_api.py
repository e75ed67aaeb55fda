"""POST /events, the batch endpoint, through Flask's test client (see the `client`
fixture): a bad element or body names what is wrong, and nothing is stored without Kafka."""
import json

import pytest

from game_events import catalogue
from game_events.api.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS

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
