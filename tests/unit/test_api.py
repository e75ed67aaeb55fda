"""The API's validation through Flask's test client (see the `client` fixture): bad input
is a 400 naming the field, and a valid event without Kafka is a 503, never a 2xx."""
import multiprocessing

import pytest

from game_events import catalogue
from game_events.api.decoding import MAX_BODY_BYTES, MAX_QUERY_BYTES
from game_events.api.event_log import EventLog


def long(n):
    return "x" * n


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
