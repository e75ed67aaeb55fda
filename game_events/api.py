"""The game API: one GET route per event of the catalogue, each logging its event to Kafka,
and POST /events for many events in one request.

A reply is 2xx only after Kafka has acknowledged the event (acks=all). Bad input gets a
400 whose JSON names the field and never reaches Kafka; a Kafka that cannot take the
event in time gets a 503 with Retry-After.
"""
from __future__ import annotations

import json
import multiprocessing
import threading
import time
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import BadHost, HTTPException, MethodNotAllowed

from game_events import catalogue, config

MAX_QUERY_BYTES = 2048
MAX_BODY_BYTES = 16 * 1024


class BadRequest(Exception):
    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


class KafkaUnavailable(Exception):
    pass


COUNTERS = ("accepted", "rejected", "unavailable")


class EventLog:
    """A lazily connected, thread-safe Kafka producer with bounded waits.

    A producer whose send fails is replaced by a fresh one: kafka-python 3.0.12 resets its
    producer id when a batch expires during a broker outage but never asks for a new one,
    and then waits for ever (the fault tests caught it). A fresh producer asks again.
    """

    def __init__(self, bootstrap: str, ack_timeout_s: float):
        self.bootstrap, self.ack_timeout_s = bootstrap, ack_timeout_s
        self._producer = None
        self._connecting = False
        self._retry_at, self._last_error = 0.0, ""
        self._cond = threading.Condition()
        # In shared memory: gunicorn forks its workers from the process that built the app
        # (preload_app), so every worker adds to the same counts and /health shows them all.
        self._counts = multiprocessing.Array("q", len(COUNTERS))

    def count(self, what: str) -> None:
        with self._counts.get_lock():
            self._counts[COUNTERS.index(what)] += 1

    @property
    def counters(self) -> dict[str, int]:
        with self._counts.get_lock():
            return dict(zip(COUNTERS, self._counts))

    def producer(self):
        """The current producer; connects one if there is none. While one request connects,
        the others wait for it (within the ack timeout); after a failed attempt, requests
        get KafkaUnavailable at once for a second instead of each trying again."""
        with self._cond:
            deadline = time.monotonic() + self.ack_timeout_s
            while self._producer is None and self._connecting:
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise KafkaUnavailable("timed out waiting for the connection to Kafka")
            if self._producer is not None:
                return self._producer
            if time.monotonic() < self._retry_at:
                raise KafkaUnavailable(self._last_error)
            self._connecting = True
        producer, error = None, ""
        try:
            producer = self._connect()
        except Exception as e:  # NoBrokersAvailable and friends: Kafka is not there
            error = f"{type(e).__name__}: {e}"
        with self._cond:
            self._connecting = False
            self._producer = producer
            if producer is None:
                self._retry_at, self._last_error = time.monotonic() + 1.0, error
            self._cond.notify_all()
        if producer is None:
            raise KafkaUnavailable(error)
        return producer

    def _connect(self):
        from kafka import KafkaProducer

        timeout_ms = int(self.ack_timeout_s * 1000)
        return KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            # A whole POST /events (1000 events of ~200 bytes) fits one record batch.
            batch_size=256 * 1024,
            # Every wait is bounded, so a request never hangs on a dead broker.
            bootstrap_timeout_ms=timeout_ms,
            max_block_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
            delivery_timeout_ms=timeout_ms + 1000,
            reconnect_backoff_max_ms=1000,
        )

    def _discard(self, producer) -> None:
        with self._cond:
            if self._producer is not producer:
                return  # another request replaced it already
            self._producer = None
        # Closing waits for the network thread; the request that failed should not.
        threading.Thread(target=lambda: producer.close(timeout=0), daemon=True).start()

    def send(self, topic: str, event: dict) -> None:
        from kafka.errors import KafkaError

        value = catalogue.encode(event)
        producer = self.producer()
        try:
            producer.send(topic, value).get(timeout=self.ack_timeout_s + 2)
        except (KafkaError, OSError) as e:
            self._discard(producer)
            raise KafkaUnavailable(str(e) or type(e).__name__) from e

    def reachable(self) -> bool:
        try:
            producer = self.producer()
            return bool(producer.bootstrap_connected() or producer.partitions_for(config.TOPIC))
        except Exception:
            return False


def log_to_kafka(topic: str, event: dict) -> None:
    """Sends one event as JSON to `topic` and returns once Kafka has stored it."""
    current_app.extensions["event_log"].send(topic, event)


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(name, f"{name} is not valid UTF-8")


def query_values() -> dict[str, str]:
    """The query string, decoded strictly: invalid UTF-8 or a repeated name is an error,
    not a silent replacement character or a dropped value."""
    raw = request.environ.get("QUERY_STRING", "").encode("latin-1")
    if len(raw) > MAX_QUERY_BYTES:
        raise BadRequest("query", f"query string over {MAX_QUERY_BYTES} bytes", 414)
    values: dict[str, str] = {}
    for pair in filter(None, raw.split(b"&")):
        k, _, v = pair.partition(b"=")
        name = _text(unquote_to_bytes(k.replace(b"+", b" ")), "query")
        if not name:
            raise BadRequest("query", "a query parameter has no name")
        v = unquote_to_bytes(v.replace(b"+", b" "))
        if name in values:
            raise BadRequest(name, f"{name} given more than once")
        values[name] = _text(v, name)
    return values


def header_values() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for header, _ in catalogue.HEADERS:
        value = request.headers.get(header)
        if value is not None:
            value = _text(value.encode("latin-1"), header)
            if len(value) > catalogue.MAX_HEADER:
                raise BadRequest(header, f"{header} header over {catalogue.MAX_HEADER} characters")
        out[header] = value
    return out


def validate(event: catalogue.Event, values: dict[str, str]) -> dict[str, str]:
    import re

    for p in event.params:
        v = values.get(p.name)
        if v is None or v == "":
            raise BadRequest(p.name, f"{p.name} is required")
        if not re.fullmatch(p.pattern, v):
            if p.kind == "choice":
                msg = f"{p.name} must be one of {', '.join(p.choices)}"
            elif p.kind == "coins":
                msg = f"{p.name} must be a whole number of coins from 0 to {catalogue.MAX_COINS}"
            else:
                msg = f"{p.name} must be 1 to {catalogue.MAX_TEXT} printable characters"
            raise BadRequest(p.name, msg)
    return values


def make_view(event: catalogue.Event):
    def view():
        if request.method != "GET":  # Flask adds HEAD to GET routes; a HEAD must not log an event
            raise MethodNotAllowed(valid_methods=["GET"])
        # Only the three catalogue headers are copied, and copied first, so no header can
        # overwrite a field of the event (the seed merged every header into it).
        body = {**header_values(), **event.build(validate(event, query_values()))}
        log_to_kafka(config.TOPIC, body)
        current_app.extensions["event_log"].count("accepted")
        return Response(event.reply, mimetype="text/plain")

    view.__name__ = event.event_type
    return view


def error(status: int, message: str, field: str | None = None, **headers) -> Response:
    body = {"error": message}
    if field:
        body["field"] = field
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def create_app(event_log: EventLog | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["event_log"] = event_log or EventLog(config.KAFKA_BOOTSTRAP, config.KAFKA_ACK_TIMEOUT_S)

    for event in catalogue.EVENTS.values():
        app.add_url_rule(event.route, view_func=make_view(event), methods=["GET"])
    add_batch_route(app)

    @app.get("/openapi.json")
    def openapi_document():
        from game_events import openapi

        return jsonify(openapi.spec())

    @app.get("/health")
    def health():
        log = app.extensions["event_log"]
        ok = log.reachable()
        return jsonify(status="ok" if ok else "degraded", kafka="reachable" if ok else "unreachable",
                       counters=log.counters), (200 if ok else 503)

    @app.before_request
    def bounded_request():
        limit = MAX_BATCH_BYTES if request.path == BATCH_ROUTE else MAX_BODY_BYTES
        if request.content_length and request.content_length > limit:
            raise BadRequest("body", f"request body over {limit} bytes", 413)

    @app.errorhandler(BadRequest)
    def bad_request(e: BadRequest):
        app.extensions["event_log"].count("rejected")
        return error(e.status, e.message, e.field)

    @app.errorhandler(KafkaUnavailable)
    def kafka_unavailable(e: KafkaUnavailable):
        app.extensions["event_log"].count("unavailable")
        app.logger.warning("kafka could not store the event: %s", e)
        return error(503, "the event log (Kafka) is unavailable; the event was not stored", None,
                     **{"Retry-After": "5"})

    @app.errorhandler(404)
    def not_found(e):
        return error(404, f"no such route: {request.path[:100]}; routes: "
                     + ", ".join(ev.route for ev in catalogue.EVENTS.values()))

    @app.errorhandler(BadHost)
    def bad_host(e: BadHost):
        app.extensions["event_log"].count("rejected")
        return error(400, "the Host header is not a valid host name", "Host")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        allow = {"Allow": ", ".join(e.valid_methods)} if isinstance(e, MethodNotAllowed) and e.valid_methods else {}
        return error(e.code or 500, e.description or e.name, **allow)

    return app


# --- POST /events: many events in one request ---------------------------------------------

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
        items = json.loads(_text(raw, "body"), object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise BatchBadRequest(None, "body", f"body is not valid JSON: {e.msg} at character {e.pos}")
    if not isinstance(items, list) or not items:
        raise BatchBadRequest(None, "body", "body must be a non-empty JSON array of events")
    if len(items) > MAX_BATCH_EVENTS:
        raise BatchBadRequest(None, "body", f"over {MAX_BATCH_EVENTS} events in one request", 413)
    return items


def batch_event(index: int, item, headers: dict) -> dict:
    """One element, {"event_type": <catalogue key>, <parameter>: <value>, ...}, checked with
    the GET routes' rules; the server sets the derived fields and the headers, as there."""
    if not isinstance(item, dict):
        raise BatchBadRequest(index, "event_type", "each event must be a JSON object")
    if getattr(item, "repeated", None):
        raise BatchBadRequest(index, item.repeated, f"{item.repeated} given more than once")
    event = catalogue.EVENTS.get(item.get("event_type")) if isinstance(item.get("event_type"), str) else None
    if event is None:
        raise BatchBadRequest(index, "event_type", "event_type must be one of " + ", ".join(catalogue.EVENTS))
    names = {p.name: p for p in event.params}
    values: dict[str, str] = {}
    for name, value in item.items():
        if name == "event_type":
            continue
        if name not in names:
            raise BatchBadRequest(index, name, f"{name} is not a field a client sends for {event.event_type}")
        # Coins may be a JSON integer; everything else is text, as in a query string.
        if names[name].kind == "coins" and type(value) is int:
            value = str(value)
        if not isinstance(value, str):
            raise BatchBadRequest(index, name, f"{name} must be a whole number of coins from 0 to "
                                  f"{catalogue.MAX_COINS}" if names[name].kind == "coins" else f"{name} must be a string")
        values[name] = value
    try:
        return {**headers, **event.build(validate(event, values))}
    except BadRequest as e:
        raise BatchBadRequest(index, e.field, e.message) from None


def send_all(log: EventLog, topic: str, events: list[dict]) -> list[int]:
    """Sends every event, then waits (bounded) for Kafka's acknowledgements; returns the
    indices that Kafka confirmed it stored."""
    from kafka.errors import KafkaError

    futures = []
    try:
        producer = log.producer()
    except KafkaUnavailable as e:  # not connected: nothing was sent
        current_app.logger.warning("kafka is unavailable for a batch: %s", e)
        return []
    try:
        for event in events:
            futures.append(producer.send(topic, catalogue.encode(event)))
    except (KafkaError, OSError) as e:  # the rest were never handed to the producer
        current_app.logger.warning("kafka refused event %d of a batch: %s", len(futures), e)
    deadline = time.monotonic() + log.ack_timeout_s + 2
    stored = []
    for i, future in enumerate(futures):
        try:
            future.get(timeout=max(0.0, deadline - time.monotonic()))
            stored.append(i)
        except (KafkaError, OSError):
            pass
    if len(stored) < len(events):
        log._discard(producer)  # as for a single event: a producer that failed is replaced
    return stored


def post_events():
    headers = header_values()
    events = [batch_event(i, item, headers) for i, item in enumerate(batch_items())]
    log = current_app.extensions["event_log"]
    stored = send_all(log, config.TOPIC, events)
    for _ in stored:
        log.count("accepted")
    if len(stored) == len(events):
        return jsonify(stored=len(stored))
    log.count("unavailable")
    # Indices in `retry` were not confirmed: Kafka may still hold some of them, so resending
    # them is at least once, as for a single GET that got a 503.
    resp = jsonify(error=f"the event log (Kafka) confirmed {len(stored)} of {len(events)} events; "
                         "send the events at the indices in `retry` again",
                   stored=stored, retry=sorted(set(range(len(events))) - set(stored)))
    resp.status_code = 503
    resp.headers["Retry-After"] = "5"
    return resp


def add_batch_route(app: Flask) -> None:
    app.add_url_rule(BATCH_ROUTE, view_func=post_events, methods=["POST"])

    @app.errorhandler(BatchBadRequest)
    def batch_bad_request(e: BatchBadRequest):
        app.extensions["event_log"].count("rejected")
        body = {"error": e.message, "field": e.field, **({} if e.index is None else {"index": e.index})}
        return jsonify(body), e.status
