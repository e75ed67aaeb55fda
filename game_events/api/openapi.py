"""The API's OpenAPI document, derived from the catalogue. The API serves it at
/openapi.json; the repository keeps a copy in openapi.json (`make openapi` rewrites it,
and a test checks that the copy is current).

    python -m game_events.api.openapi > openapi.json
"""
from __future__ import annotations

import json

from game_events import catalogue
from game_events.api.batch import BATCH_ROUTE, MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from game_events.api.decoding import EVENT_ID_HEADER
from game_events.api.metrics import ROUTE as METRICS_ROUTE

ERROR = {"$ref": "#/components/schemas/Error"}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}}}
ID = catalogue.EVENT_ID
ID_DOC = ("The event's id: the client's own, to send again when it retries, or else a random UUID (v4) "
          "the server assigns")
ID_HEADER = {EVENT_ID_HEADER: {"description": ID_DOC, "schema": ID.kind.schema()}}


def err(desc: str, headers: dict | None = None) -> dict:
    r = {"description": desc, "content": {"application/json": {"schema": ERROR}}}
    if headers:
        r["headers"] = headers
    return r


def batch_path() -> dict:
    """POST /events: an array of events, each {"event_type": <catalogue key>, its parameters}."""
    def element(e: catalogue.Event) -> dict:
        props = {"event_type": {"type": "string", "enum": [e.event_type]}}
        props.update({p.name: p.kind.batch_schema() for p in e.params})
        required = list(props)
        props[ID.name] = {**ID.kind.batch_schema(), "description": ID_DOC}
        return {"type": "object", "required": required, "properties": props, "additionalProperties": False}

    retry = {"type": "array", "items": {"type": "integer"}}
    ids = {"type": "array", "items": ID.kind.schema(), "description": "every event's id, in the request's order"}
    return {"post": {
        "operationId": "log_events",
        "summary": f"Log up to {MAX_BATCH_EVENTS} events to Kafka in one request; each is validated as by "
                   "its GET route and none is sent unless all are valid",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "minItems": 1, "maxItems": MAX_BATCH_EVENTS,
            "items": {"oneOf": [element(e) for e in catalogue.EVENTS.values()]}}}}},
        "responses": {
            "200": {"description": "Kafka stored every event", "content": {"application/json": {"schema": {
                "type": "object", "required": ["stored", "ids"],
                "properties": {"stored": {"type": "integer"}, "ids": ids}}}}},
            "400": err("A bad event; `index` names the element and `field` its field (no event was sent)"),
            "413": err(f"A body over {MAX_BATCH_BYTES} bytes or over {MAX_BATCH_EVENTS} events"),
            "503": {"description": "Kafka did not confirm every event in time; `stored` lists the indices it "
                                   "stored, `retry` the others, to send again",
                    "headers": RETRY_AFTER,
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["error", "stored", "retry", "ids"],
                        "properties": {"error": {"type": "string"}, "stored": retry, "retry": retry, "ids": ids}}}}},
        },
    }}


def event_path(e: catalogue.Event) -> dict:
    """GET <route>: one event, its parameters in the query string."""
    derived = ", ".join(f"{d.name} set by the server" for d in e.derived)
    return {"get": {
        "operationId": e.event_type,
        "summary": f"Log a {e.event_type} event to Kafka" + (f" ({derived})" if derived else ""),
        "parameters": [{"name": p.name, "in": "query", "required": True, "schema": p.kind.schema()}
                       for p in e.params]
                      + [{"name": ID.name, "in": "query", "required": False, "description": ID_DOC,
                          "schema": ID.kind.schema()}],
        "responses": {
            "200": {"description": "Kafka stored the event", "headers": ID_HEADER,
                    "content": {"text/plain": {"schema": {"type": "string", "enum": [e.reply]}}}},
            "400": err("Bad input; `field` names the parameter or header"),
            "413": err("Request body too large"),
            "414": err("Query string too long"),
            "503": err("Kafka did not store the event in time; retry later, with the same event_id",
                       {**RETRY_AFTER, **ID_HEADER}),
        },
    }}


def spec() -> dict:
    paths = {e.route: event_path(e) for e in catalogue.EVENTS.values()}
    paths[BATCH_ROUTE] = batch_path()
    paths["/health"] = {"get": {
        "operationId": "health",
        "summary": "Kafka reachability and the API's counters",
        "responses": {"200": {"description": "Kafka is reachable"}, "503": {"description": "Kafka is unreachable"}},
    }}
    paths[METRICS_ROUTE] = {"get": {
        "operationId": "metrics",
        "summary": "The API's Prometheus metrics, in Prometheus' text format (404 when API_METRICS_PORT "
                   "serves them on a port of their own, or API_METRICS=0)",
        "responses": {"200": {"description": "The metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "404": err("Not served on this port")},
    }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Game events API", "version": "1.0.0",
                 "description": "Each route logs one game event to the Kafka topic `events`. "
                                "A 2xx reply means Kafka has stored the event (acks=all). Requests also "
                                "carry the Accept, Host and User-Agent headers into the event. Every event has "
                                "an id, event_id: the client's own or one the server assigns; the reply names it."},
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"}, "field": {"type": "string"},
                           "index": {"type": "integer", "description": "POST /events: the bad element"}}}}},
    }


def render() -> str:
    return json.dumps(spec(), indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
