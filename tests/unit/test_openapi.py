"""The OpenAPI document: the API serves the committed openapi.json, that copy is current,
and it says what the seed's API does, checked against expectations written by hand."""
import json
import re

from game_events import settings
from game_events.api import openapi
from tests.support.data import ROUTE_PARAMS, ROUTES, SWORD_PRICES

COMMITTED = settings.ROOT / "openapi.json"
# The seed's replies, by hand.
REPLIES = {"/": "This is the default response!\n", "/purchase_a_sword": "Sword Purchased!\n",
           "/join_a_guild": "Joined guild!\n", "/quit_guild": "Quit guild!\n", "/get_paid": "Got paid!\n"}


def committed() -> dict:
    return json.loads(COMMITTED.read_text())


def test_the_api_serves_the_committed_document(client):
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json == committed()


def test_the_committed_document_is_current():
    assert COMMITTED.read_text() == openapi.render(), "openapi.json is stale: run make openapi"


def test_the_document_describes_the_seeds_routes():
    doc = committed()
    assert doc["openapi"].startswith("3.")
    assert {path: sorted(ops) for path, ops in doc["paths"].items()} == {
        **{route: ["get"] for route in ROUTES}, "/health": ["get"], "/metrics": ["get"],
        "/events": ["post"]}
    for route, names in ROUTE_PARAMS.items():
        get = doc["paths"][route]["get"]
        assert [(p["name"], p["in"], p["required"]) for p in get["parameters"]] == \
            [(n, "query", True) for n in names] + [("event_id", "query", False)]
        assert get["responses"]["200"]["content"]["text/plain"]["schema"]["enum"] == [REPLIES[route]]
        assert set(get["responses"]) == {"200", "400", "413", "414", "503"}
        assert set(get["responses"]["503"]["headers"]) == {"Retry-After", "Event-Id"}
        assert set(get["responses"]["200"]["headers"]) == {"Event-Id"}


def test_parameter_schemas_hold_the_rules():
    params = {(route, p["name"]): p["schema"] for route in ROUTE_PARAMS
              for p in committed()["paths"][route]["get"]["parameters"]}
    assert params[("/purchase_a_sword", "type")]["enum"] == list(SWORD_PRICES)
    for route, name in [("/purchase_a_sword", "user"), ("/join_a_guild", "name"), ("/quit_guild", "user")]:
        assert (params[(route, name)]["minLength"], params[(route, name)]["maxLength"]) == (1, 64)
        assert re.fullmatch(params[(route, name)]["pattern"], "Bob the 2nd ☃")
        assert not re.fullmatch(params[(route, name)]["pattern"], "a\x01b")
    for route in ROUTE_PARAMS:
        uuid = params[(route, "event_id")]["pattern"]
        assert re.fullmatch(uuid, "0f8fad5b-d9cb-469f-a165-70867728950e")
        assert not any(re.fullmatch(uuid, v) for v in ["0F8FAD5B-D9CB-469F-A165-70867728950E", "",
                                                       "0f8fad5bd9cb469fa16570867728950e",
                                                       "{0f8fad5b-d9cb-469f-a165-70867728950e}"])
    amount = params[("/get_paid", "amount")]["pattern"]
    assert all(re.fullmatch(amount, v) for v in ["0", "7", "007", "9999999999"])
    assert not any(re.fullmatch(amount, v) for v in ["", "-1", "1.5", "1e3", "10000000000", " 1"])


def test_the_batch_route_takes_up_to_a_thousand_events():
    post = committed()["paths"]["/events"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert (schema["type"], schema["minItems"], schema["maxItems"]) == ("array", 1, 1000)
    kinds = {e["properties"]["event_type"]["enum"][0]: sorted(e["required"]) for e in schema["items"]["oneOf"]}
    assert kinds == {ROUTES[route]: sorted(["event_type", *names]) for route, names in ROUTE_PARAMS.items()}
    assert all("event_id" in e["properties"] for e in schema["items"]["oneOf"])  # optional
    assert set(post["responses"]) == {"200", "400", "413", "503"}
    replies = {status: post["responses"][status]["content"]["application/json"]["schema"] for status in ("200", "503")}
    assert replies["200"]["required"] == ["stored", "ids"] and "ids" in replies["503"]["required"]
