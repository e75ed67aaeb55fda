"""The game API: one GET route per event of the catalogue, each logging its event to Kafka,
and POST /events for many events in one request.

A reply is 2xx only after Kafka has acknowledged the event (acks=all). Bad input gets a
400 whose JSON names the field and never reaches Kafka; a Kafka that cannot take the
event in time gets a 503 with Retry-After.

    event_log.py   the Kafka producer and /health's counters
    metrics.py     the Prometheus metrics (/metrics)
    decoding.py    strict reading of query strings, headers and parameters
    routes.py      the GET routes, /health, /openapi.json, error handlers
    batch.py       POST /events
    openapi.py     the OpenAPI document (python -m game_events.api.openapi)
"""
from __future__ import annotations

from flask import Flask

from game_events import settings
from game_events.api.batch import BATCH_ROUTE, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, add_batch_route, send_all
from game_events.api.decoding import MAX_BODY_BYTES, MAX_QUERY_BYTES, BadRequest
from game_events.api.event_log import EventLog, KafkaUnavailable, log_to_kafka
from game_events.api.metrics import NoMetrics, add_metrics, from_settings
from game_events.api.routes import add_error_handlers, add_routes

__all__ = ["create_app", "log_to_kafka", "EventLog", "KafkaUnavailable", "BadRequest", "send_all", "BATCH_ROUTE",
           "MAX_BATCH_BYTES", "MAX_BATCH_EVENTS", "MAX_BODY_BYTES", "MAX_QUERY_BYTES"]


def create_app(event_log: EventLog | None = None, metrics: NoMetrics | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    metrics = metrics or from_settings(settings.API_METRICS, settings.API_METRICS_PORT)
    app.extensions["event_log"] = event_log or EventLog(settings.KAFKA_BOOTSTRAP, settings.KAFKA_ACK_TIMEOUT_S,
                                                        metrics)
    add_metrics(app, metrics)
    add_routes(app)
    add_batch_route(app)
    add_error_handlers(app)
    return app
