"""The API's validation through Flask's test client (see the `client` fixture): bad input
is a 400 naming the field, and a valid event without Kafka is a 503, never a 2xx."""
import json
import multiprocessing
import uuid

import pytest

from game_events import catalogue
from game_events.api.decoding import MAX_BODY_BYTES, MAX_QUERY_BYTES
from game_events.api.event_log import EventLog


def long(n):
    return "x" * n


ID = "0f8fad5b-d9cb-469f-a165-70867728950e"  # a client's own id


BAD = [
    ("/purchase_a_sword?type=gold", "user"),
    ("/purchase_a_sword?user=&type=gold", "user"),
    ("/purchase_a_sword?user=a&type=wood", "type"),
    ("/purchase_a_sword?user=a", "type"),
    ("/join_a_guild?user=a", "name"),
    (f"/join_a_guild?user=a&name={long(catalogue.MAX_TEXT + 1)}", "name"),
    (f"/quit_guild?user={long(catalogue.MAX_TEXT + 1)}&name=g", "user"),
    ("/quit_guild?user=a%01b&name=g", "user"),
    ("/get_paid?user=a&amount=-1", "amount"),
    ("/get_paid?user=a&amount=1.5", "amount"),
    ("/get_paid?user=a&amount=abc", "amount"),
    (f"/get_paid?user=a&amount={10**10}", "amount"),
    ("/get_paid?user=a", "amount"),
    ("/get_paid?user=%ff%fe&amount=1", "user"),
    ("/get_paid?user=a&user=b&amount=1", "user"),
    # An event's id is a UUID in canonical form, lowercase: one id, one spelling.
    (f"/get_paid?user=a&amount=1&event_id={ID.upper()}", "event_id"),
    (f"/get_paid?user=a&amount=1&event_id={ID.replace('-', '')}", "event_id"),
    (f"/get_paid?user=a&amount=1&event_id=%7B{ID}%7D", "event_id"),
    (f"/get_paid?user=a&amount=1&event_id={ID}0", "event_id"),
    (f"/get_paid?user=a&amount=1&event_id={ID[:-1]}g", "event_id"),
    (f"/get_paid?user=a&amount=1&event_id=%20{ID}", "event_id"),
    ("/get_paid?user=a&amount=1&event_id=", "event_id"),
    ("/purchase_a_sword?user=a&type=gold&event_id=1", "event_id"),
    ("/?event_id=none", "event_id"),
    (f"/quit_guild?user=a&name=g&event_id={ID}&event_id={ID}", "event_id"),
]


@pytest.mark.parametrize("url,field", BAD)
def test_bad_input_is_400_naming_the_field(client, url, field):
    resp = client.get(url)
    assert resp.status_code == 400, resp.data
    assert resp.json["field"] == field
    assert resp.json["error"]


def test_overlong_header_is_400(client):
    resp = client.get("/get_paid?user=a&amount=1", headers={"User-Agent": long(catalogue.MAX_HEADER + 1)})
    assert resp.status_code == 400 and resp.json["field"] == "User-Agent"


def test_oversized_requests_are_refused(client):
    resp = client.get("/get_paid?user=a&amount=1&pad=" + long(MAX_QUERY_BYTES))
    assert resp.status_code == 414 and resp.json["field"] == "query"
    resp = client.get("/get_paid?user=a&amount=1", data=long(MAX_BODY_BYTES + 1))
    assert resp.status_code == 413


def test_unknown_route_and_method(client):
    assert client.get("/buy_a_castle").status_code == 404
    assert client.post("/get_paid?user=a&amount=1").status_code == 405


def test_valid_event_without_kafka_is_503_never_2xx(client):
    resp = client.get("/purchase_a_sword?user=a&type=gold")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert "not stored" in resp.json["error"]


def test_a_503_names_the_events_id_for_the_retry(client):
    resp = client.get(f"/get_paid?user=a&amount=1&event_id={ID}")
    assert resp.status_code == 503 and resp.headers["Event-Id"] == ID
    resp = client.get("/get_paid?user=a&amount=1")
    assert resp.status_code == 503 and uuid.UUID(resp.headers["Event-Id"]).version == 4


def test_a_400_names_no_event_id(client):
    assert "Event-Id" not in client.get("/get_paid?user=a&amount=x").headers


def test_the_api_assigns_each_event_a_uuid4_and_writes_it_first(storing_client, kafka):
    """Two identical requests, as ab sends them, are two events with their own ids, each
    named by the reply's Event-Id and written first in the event."""
    replies = [storing_client.get("/get_paid?user=a&amount=1", headers={"User-Agent": "ab"}) for _ in range(2)]
    ids = [r.headers["Event-Id"] for r in replies]
    assert [r.status_code for r in replies] == [200, 200] and ids[0] != ids[1]
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)  # canonical, lowercase
    assert kafka.values == [('{"event_id":"%s","Accept":null,"Host":"localhost","User-Agent":"ab",'
                             '"event_type":"get_paid","user":"a","amount":1}' % i).encode() for i in ids]


@pytest.mark.parametrize("route", ["/", "/purchase_a_sword?user=a&type=gold", "/join_a_guild?user=a&name=g",
                                   "/quit_guild?user=a&name=g", "/get_paid?user=a&amount=1"])
def test_a_clients_own_id_is_kept_and_echoed(storing_client, kafka, route):
    own = "01890a5d-ac96-774b-bcce-b302099a8057"  # a UUIDv7: any version is the client's choice
    resp = storing_client.get(route + ("&" if "?" in route else "?") + f"event_id={own}")
    assert resp.status_code == 200 and resp.headers["Event-Id"] == own
    (value,) = kafka.values
    assert list(json.loads(value).items())[0] == ("event_id", own)


def test_health_reports_kafka_unreachable(client):
    resp = client.get("/health")
    assert resp.status_code == 503 and resp.json["kafka"] == "unreachable"


def test_head_is_refused_so_it_cannot_log_an_event(client):
    # Flask serves HEAD on every GET route; a monitoring probe must not create events.
    resp = client.head("/get_paid?user=a&amount=1")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET"


@pytest.mark.parametrize("url", ["/get_paid?=5&user=a&amount=1", "/get_paid?user=a&amount=1&%ff=1"])
def test_a_nameless_or_undecodable_parameter_name_is_400(client, url):
    resp = client.get(url)
    assert resp.status_code == 400 and resp.get_json()["field"] == "query"


def test_an_invalid_host_header_is_400_naming_it(client):
    resp = client.get("/get_paid?user=a&amount=1", headers={"Host": "."})
    assert resp.status_code == 400 and resp.get_json()["field"] == "Host"


def test_counters_are_shared_by_forked_workers():
    """The API's server forks its workers after building the app; each adds to the same counts."""
    log = EventLog("127.0.0.1:9", 1)
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=lambda: [log.count("accepted") for _ in range(500)]) for _ in range(3)]
    for w in workers:
        w.start()
    log.count("rejected")
    for w in workers:
        w.join(30)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert log.counters == {"accepted": 1500, "rejected": 1, "unavailable": 0}
