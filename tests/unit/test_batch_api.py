"""POST /events, the batch endpoint, through Flask's test client (see the `client`
fixture): a bad element or body names what is wrong, and nothing is stored without Kafka."""
import json
import uuid

import pytest

from game_events import catalogue
from game_events.api.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS

GOOD = {"event_type": "get_paid", "user": "a", "amount": "1"}
ID = "0f8fad5b-d9cb-469f-a165-70867728950e"  # a client's own id

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
    # An id is a UUID in canonical form, lowercase, as a JSON string.
    ([GOOD, {**GOOD, "event_id": "nope"}], 1, "event_id"),
    ([{**GOOD, "event_id": ID.upper()}], 0, "event_id"),
    ([GOOD, GOOD, {**GOOD, "event_id": ID + " "}], 2, "event_id"),
    ([{**GOOD, "event_id": ""}], 0, "event_id"),
    ([{**GOOD, "event_id": None}], 0, "event_id"),
    ([{**GOOD, "event_id": 7}], 0, "event_id"),
    ([{"event_type": "default", "event_id": [ID]}], 0, "event_id"),
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


def test_the_reply_lists_every_events_id_in_order(storing_client, kafka):
    """A client's own ids are kept, the others get a uuid4 each; the reply lists them in the
    request's order and each event carries its own, first."""
    events = [GOOD, {**GOOD, "event_id": ID}, {"event_type": "default"}, {"event_id": ID.replace("0", "1"), **GOOD}]
    resp = storing_client.post("/events", json=events)
    assert resp.status_code == 200 and resp.json["stored"] == 4
    ids = resp.json["ids"]
    assert (ids[1], ids[3]) == (ID, ID.replace("0", "1"))
    assert [uuid.UUID(ids[i]).version for i in (0, 2)] == [4, 4] and len(set(ids)) == 4
    assert [list(json.loads(v).items())[0] for v in kafka.values] == [("event_id", i) for i in ids]


def test_a_partly_stored_batch_lists_the_ids_to_retry_with(storing_client, kafka):
    kafka.take = 1
    resp = storing_client.post("/events", json=[{**GOOD, "event_id": ID}, GOOD, GOOD])
    assert resp.status_code == 503
    assert (resp.json["stored"], resp.json["retry"], resp.json["ids"][0]) == ([0], [1, 2], ID)
    kafka.take = None  # the retry: the same events, with the ids the reply gave
    retry = [{**GOOD, "event_id": resp.json["ids"][i]} for i in resp.json["retry"]]
    again = storing_client.post("/events", json=retry)
    assert again.status_code == 200 and again.json["ids"] == resp.json["ids"][1:]


def test_without_kafka_the_503_still_lists_the_ids(client):
    resp = client.post("/events", json=[GOOD, {**GOOD, "event_id": ID}])
    assert resp.status_code == 503 and len(resp.json["ids"]) == 2 and resp.json["ids"][1] == ID


def test_only_post(client):
    assert client.get("/events").status_code == 405
