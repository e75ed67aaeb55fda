"""POST /events: many events in one request, each checked with the GET routes' rules,
none sent unless all are valid; the reply says which ones Kafka confirmed."""
from __future__ import annotations

import json

from flask import Flask, current_app, g, jsonify, request

from game_events import catalogue, settings
from game_events.api.decoding import BadRequest, event_id, header_values, text, validate
from game_events.api.event_log import EventLog, KafkaUnavailable
from game_events.api.metrics import ACCEPTED, REJECTED, UNAVAILABLE, count_events

BATCH_ROUTE = "/events"
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 1024 * 1024


class BatchBadRequest(BadRequest):
    """A bad element of a batch: the reply names its index as well as the field."""

    def __init__(self, index: int | None, field: str, message: str, status: int = 400):
        super().__init__(field, message, status)
        self.index = index


class _Object(dict):
    """A decoded JSON object that remembers a key it was given twice (json keeps the last)."""

    repeated: str | None = None


def _strict_object(pairs: list) -> dict:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        keys = [k for k, _ in pairs]
        obj.repeated = next(k for k in keys if keys.count(k) > 1)
    return obj


def _no_constant(name: str):
    raise BatchBadRequest(None, "body", f"{name} is not valid JSON")


def batch_items() -> list:
    """The request body as a JSON array, decoded strictly: invalid UTF-8, NaN, a repeated
    key or more than MAX_BATCH_EVENTS elements is an error."""
    request.max_content_length = MAX_BATCH_BYTES  # also bounds a chunked body
    raw = request.get_data(cache=False)
    try:
        items = json.loads(text(raw, "body"), object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise BatchBadRequest(None, "body", f"body is not valid JSON: {e.msg} at character {e.pos}")
    if not isinstance(items, list) or not items:
        raise BatchBadRequest(None, "body", "body must be a non-empty JSON array of events")
    if len(items) > MAX_BATCH_EVENTS:
        raise BatchBadRequest(None, "body", f"over {MAX_BATCH_EVENTS} events in one request", 413)
    return items


def batch_event(index: int, item, headers: dict) -> dict:
    """One element, {"event_type": <catalogue key>, <parameter>: <value>, ...}, and maybe its
    "event_id", checked with the GET routes' rules; the server sets the derived fields, the
    headers and any id the client did not give, as there."""
    if not isinstance(item, dict):
        raise BatchBadRequest(index, "event_type", "each event must be a JSON object")
    if getattr(item, "repeated", None):
        raise BatchBadRequest(index, item.repeated, f"{item.repeated} given more than once")
    event = catalogue.EVENTS.get(item.get("event_type")) if isinstance(item.get("event_type"), str) else None
    if event is None:
        raise BatchBadRequest(index, "event_type", "event_type must be one of " + ", ".join(catalogue.EVENTS))
    params = {p.name: p for p in (*event.params, catalogue.EVENT_ID)}
    values: dict[str, str] = {}
    for name, value in item.items():
        if name == "event_type":
            continue
        if name not in params:
            raise BatchBadRequest(index, name, f"{name} is not a field a client sends for {event.event_type}")
        # As in a query string, every value is text; a kind may take another JSON type too.
        values[name] = params[name].kind.text_of(value)
        if values[name] is None:
            raise BatchBadRequest(index, name, params[name].kind.wrong_json_type(name))
    try:
        values = validate(event, values)
        return catalogue.record(event_id(values.get(catalogue.EVENT_ID.name)), headers, event.build(values))
    except BadRequest as e:
        raise BatchBadRequest(index, e.field, e.message) from None


def send_all(log: EventLog, topic: str, events: list[dict]) -> list[int]:
    """Sends every event, then waits (bounded) for Kafka's acknowledgements; returns the
    indices that Kafka confirmed it stored."""
    try:
        return log.deliver(topic, [catalogue.encode(event) for event in events])
    except KafkaUnavailable as e:  # Kafka is known to be down: nothing was sent
        current_app.logger.warning("kafka is unavailable for a batch: %s", e)
        return []


def post_events():
    headers = header_values()
    items = g.batch_items = batch_items()  # the refused events' types, if one is bad
    events = [batch_event(i, item, headers) for i, item in enumerate(items)]
    stored = send_all(current_app.extensions["event_log"], settings.TOPIC, events)
    types = [e["event_type"] for e in events]
    count_events(ACCEPTED, types if len(stored) == len(events) else [types[i] for i in stored])
    # Every event's id, in the request's order: a retry sends the same ids again.
    ids = [e[catalogue.EVENT_ID.name] for e in events]
    if len(stored) == len(events):
        return jsonify(stored=len(stored), ids=ids)
    retry = sorted(set(range(len(events))) - set(stored))
    count_events(UNAVAILABLE, [types[i] for i in retry])
    # Indices in `retry` were not confirmed: Kafka may still hold some of them, so resending
    # them is at least once, as for a single GET that got a 503.
    resp = jsonify(error=f"the event log (Kafka) confirmed {len(stored)} of {len(events)} events; "
                         "send the events at the indices in `retry` again",
                   stored=stored, retry=retry, ids=ids)
    resp.status_code = 503
    resp.headers["Retry-After"] = "5"
    return resp


def add_batch_route(app: Flask) -> None:
    app.add_url_rule(BATCH_ROUTE, view_func=post_events, methods=["POST"])

    @app.errorhandler(BatchBadRequest)
    def batch_bad_request(e: BatchBadRequest):
        count_events(REJECTED)
        body = {"error": e.message, "field": e.field, **({} if e.index is None else {"index": e.index})}
        return jsonify(body), e.status
