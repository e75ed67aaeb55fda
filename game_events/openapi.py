"""The API's OpenAPI document, derived from the catalogue. The API serves it at
/openapi.json; the repository keeps a copy in openapi.json (`make openapi` rewrites it,
and a test checks that the copy is current)."""
from __future__ import annotations

import json

from game_events import api, catalogue

ERROR = {"$ref": "#/components/schemas/Error"}


def param_schema(p: catalogue.Param) -> dict:
    if p.kind == "choice":
        return {"type": "string", "enum": list(p.choices)}
    if p.kind == "coins":
        return {"type": "string", "pattern": f"^{p.pattern}$", "description": "whole coins, 0 to 9999999999"}
    return {"type": "string", "minLength": 1, "maxLength": catalogue.MAX_TEXT, "pattern": f"^{p.pattern}$"}


def batch_path(err) -> dict:
    """POST /events: an array of events, each {"event_type": <catalogue key>, its parameters}."""
    def element(e: catalogue.Event) -> dict:
        props = {"event_type": {"type": "string", "enum": [e.event_type]}}
        for p in e.params:
            s = param_schema(p)
            # A number of coins may also be sent as a JSON integer.
            props[p.name] = s if p.kind != "coins" else {"oneOf": [s, {"type": "integer", "minimum": 0,
                                                                      "maximum": catalogue.MAX_COINS}]}
        return {"type": "object", "required": list(props), "properties": props, "additionalProperties": False}

    retry = {"type": "array", "items": {"type": "integer"}}
    return {"post": {
        "operationId": "log_events",
        "summary": f"Log up to {api.MAX_BATCH_EVENTS} events to Kafka in one request; each is validated as by "
                   "its GET route and none is sent unless all are valid",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "minItems": 1, "maxItems": api.MAX_BATCH_EVENTS,
            "items": {"oneOf": [element(e) for e in catalogue.EVENTS.values()]}}}}},
        "responses": {
            "200": {"description": "Kafka stored every event", "content": {"application/json": {"schema": {
                "type": "object", "required": ["stored"], "properties": {"stored": {"type": "integer"}}}}}},
            "400": err("A bad event; `index` names the element and `field` its field (no event was sent)"),
            "413": err(f"A body over {api.MAX_BATCH_BYTES} bytes or over {api.MAX_BATCH_EVENTS} events"),
            "503": {"description": "Kafka did not confirm every event in time; `stored` lists the indices it "
                                   "stored, `retry` the others, to send again",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["error", "stored", "retry"],
                        "properties": {"error": {"type": "string"}, "stored": retry, "retry": retry}}}}},
        },
    }}


def spec() -> dict:
    def err(desc: str, headers: dict | None = None) -> dict:
        r = {"description": desc, "content": {"application/json": {"schema": ERROR}}}
        if headers:
            r["headers"] = headers
        return r

    paths = {}
    for e in catalogue.EVENTS.values():
        derived = ", ".join(f"{d.name} set by the server" for d in e.derived)
        paths[e.route] = {"get": {
            "operationId": e.event_type,
            "summary": f"Log a {e.event_type} event to Kafka" + (f" ({derived})" if derived else ""),
            "parameters": [{"name": p.name, "in": "query", "required": True, "schema": param_schema(p)}
                           for p in e.params],
            "responses": {
                "200": {"description": "Kafka stored the event",
                        "content": {"text/plain": {"schema": {"type": "string", "enum": [e.reply]}}}},
                "400": err("Bad input; `field` names the parameter or header"),
                "413": err("Request body too large"),
                "414": err("Query string too long"),
                "503": err("Kafka did not store the event in time; retry later",
                           {"Retry-After": {"schema": {"type": "integer"}}}),
            },
        }}
    paths[api.BATCH_ROUTE] = batch_path(err)
    paths["/health"] = {"get": {
        "operationId": "health",
        "summary": "Kafka reachability and the API's counters",
        "responses": {"200": {"description": "Kafka is reachable"}, "503": {"description": "Kafka is unreachable"}},
    }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Game events API", "version": "1.0.0",
                 "description": "Each route logs one game event to the Kafka topic `events`. "
                                "A 2xx reply means Kafka has stored the event (acks=all). Requests also "
                                "carry the Accept, Host and User-Agent headers into the event."},
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
