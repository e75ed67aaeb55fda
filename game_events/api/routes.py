"""The GET routes (one per event of the catalogue), /health, /openapi.json, the bound on
request sizes and the error handlers: every error is JSON that names what was wrong."""
from __future__ import annotations

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import BadHost, HTTPException, MethodNotAllowed

from game_events import catalogue, settings
from game_events.api.batch import BATCH_ROUTE, MAX_BATCH_BYTES
from game_events.api.decoding import (EVENT_ID_HEADER, MAX_BODY_BYTES, BadRequest, event_id, header_values,
                                      query_values, validate)
from game_events.api.event_log import KafkaUnavailable, log_to_kafka
from game_events.api.metrics import ACCEPTED, REJECTED, UNAVAILABLE, count_events


def make_view(event: catalogue.Event):
    types = (event.event_type,)

    def view():
        if request.method != "GET":  # Flask adds HEAD to GET routes; a HEAD must not log an event
            raise MethodNotAllowed(valid_methods=["GET"])
        # Only the three catalogue headers are copied, and before the event's fields, so no
        # header can overwrite a field of the event (the seed merged every header into it).
        headers = header_values()
        values = validate(event, query_values())
        g.event_id = event_id(values.get(catalogue.EVENT_ID.name))
        log_to_kafka(settings.TOPIC, catalogue.record(g.event_id, headers, event.build(values)))
        count_events(ACCEPTED, types)
        return Response(event.reply, mimetype="text/plain", headers={EVENT_ID_HEADER: g.event_id})

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


def add_routes(app: Flask) -> None:
    for event in catalogue.EVENTS.values():
        app.add_url_rule(event.route, view_func=make_view(event), methods=["GET"])

    @app.get("/openapi.json")
    def openapi_document():
        # Imported here, not above: `python -m game_events.api.openapi` imports this
        # package first and must find its own module not yet loaded.
        from game_events.api.openapi import spec

        return jsonify(spec())

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


def add_error_handlers(app: Flask) -> None:
    @app.errorhandler(BadRequest)
    def bad_request(e: BadRequest):
        count_events(REJECTED)
        return error(e.status, e.message, e.field)

    @app.errorhandler(KafkaUnavailable)
    def kafka_unavailable(e: KafkaUnavailable):
        count_events(UNAVAILABLE)
        app.logger.warning("kafka could not store the event: %s", e)
        return error(503, "the event log (Kafka) is unavailable; the event was not stored", None,
                     **{"Retry-After": "5"}, **({EVENT_ID_HEADER: g.event_id} if "event_id" in g else {}))

    @app.errorhandler(404)
    def not_found(e):
        return error(404, f"no such route: {request.path[:100]}; routes: "
                     + ", ".join(ev.route for ev in catalogue.EVENTS.values()))

    @app.errorhandler(BadHost)
    def bad_host(e: BadHost):
        count_events(REJECTED)
        return error(400, "the Host header is not a valid host name", "Host")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        allow = {"Allow": ", ".join(e.valid_methods)} if isinstance(e, MethodNotAllowed) and e.valid_methods else {}
        return error(e.code or 500, e.description or e.name, **allow)
