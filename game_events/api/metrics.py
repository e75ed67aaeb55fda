"""The API's Prometheus metrics: every name, label and bucket is defined here, once.

    game_api_requests_total{route, status}          requests answered, by Flask url rule
    game_api_events_total{event_type, outcome}      events, not requests: accepted, rejected, unavailable
    game_api_kafka_ack_duration_seconds             a request's wait for Kafka's acknowledgements
    game_api_kafka_producer_queue_length            len(producer), summed over the live workers

granian forks API_WORKERS processes. Under it (serve.py) every worker counts into its own
files in settings.API_METRICS_DIR (prometheus_client's multiprocess mode) and a scrape adds
them up, the counts of workers that died included; anywhere else (Flask's test client,
`flask run`) one process counts in memory.
"""
from __future__ import annotations

import collections
import os
import re
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, start_http_server,
                               values)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from game_events import catalogue

PREFIX = "game_api_"
REQUESTS = PREFIX + "requests_total"
EVENTS = PREFIX + "events_total"
KAFKA_ACK = PREFIX + "kafka_ack_duration_seconds"
KAFKA_QUEUE = PREFIX + "kafka_producer_queue_length"
ROUTE = "/metrics"
# The outcomes of an event; /health's counters are named after them too.
OUTCOMES = ACCEPTED, REJECTED, UNAVAILABLE = ("accepted", "rejected", "unavailable")
# The event type of anything that is not one of the catalogue's: the label stays bounded.
UNKNOWN_TYPE = "unknown"
# The route of a request that matched none (404, and 405 for a method no route takes).
UNMATCHED = "unmatched"
# An acknowledgement takes milliseconds (linger.ms=1, acks=all on loopback); the top buckets
# hold a failover's seconds and the waits that end at KAFKA_ACK_TIMEOUT_S (5 s, the cluster 8 s).
ACK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# The event type of each GET route.
EVENT_TYPES = {e.route: e.event_type for e in catalogue.EVENTS.values()}

# No *_created series: the multiprocess mode has none, so one process shows the same.
disable_created_metrics()
_directory: Path | None = None  # set by use_directory(): the multiprocess mode


def use_directory(path: Path) -> None:
    """The multiprocess mode, for a server that forks: called once in the process that forks,
    before it builds the app. The metric files of an earlier run are removed, so that a
    restart starts from zero."""
    global _directory
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    # prometheus_client's own variable: each process's values open their files there.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values.ValueClass = values.MultiProcessValue()
    _directory = path


class _Workers(MultiProcessCollector):
    """The sum of every worker's files. A gauge of a worker that is gone no longer counts
    (granian respawns a failed worker but tells the app nothing, so its death is noticed here)."""

    def collect(self):
        forget_dead_processes(self._path)
        return super().collect()


LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def forget_dead_processes(path: str) -> None:
    for name in os.listdir(path):
        if (m := LIVE_GAUGE_FILE.fullmatch(name)) and not _alive(int(m[1])):
            try:
                mark_process_dead(int(m[1]), path)
            except FileNotFoundError:  # another worker's scrape removed it first
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NoMetrics:
    """API_METRICS=0: nothing is counted and there is no /metrics."""

    enabled = False
    on_api_port = False

    def request(self, route: str, status: int) -> None:
        pass

    def events(self, outcome: str, event_types: Sequence[str | None]) -> None:
        pass

    def ack_seconds(self, seconds: float) -> None:
        pass

    def queue_length(self, n: int) -> None:
        pass


class ApiMetrics(NoMetrics):
    enabled = True

    def __init__(self, on_api_port: bool = True):
        self.on_api_port = on_api_port
        if _directory is None:  # one process: this app's own registry, in memory
            self.registry = own = CollectorRegistry()
        else:  # the workers' files are the values; a scrape reads them all
            own, self.registry = None, CollectorRegistry()
            _Workers(self.registry, str(_directory))
        self._requests = Counter(REQUESTS, "HTTP requests answered, by the Flask route that matched "
                                 f"({UNMATCHED}: none) and status code", ["route", "status"], registry=own)
        self._events = Counter(EVENTS, "Events by type and outcome: accepted (Kafka stored it, 2xx), rejected "
                               "(bad input: 400, 413, 414), unavailable (Kafka did not store it in time: 503)",
                               ["event_type", "outcome"], registry=own)
        self._ack = Histogram(KAFKA_ACK, "How long a request waited for Kafka's acknowledgements of its events, "
                              "from the first produce to the last acknowledgement or the ack timeout",
                              buckets=ACK_BUCKETS, registry=own)
        self._queue = Gauge(KAFKA_QUEUE, "Messages in the Kafka producers' queues (len(producer)), "
                            "summed over the live worker processes", multiprocess_mode="livesum", registry=own)
        # Every series of a bounded label set exists from the start, at 0; the children are
        # kept here, since labels() costs more than the increment itself.
        self._by_event = {(t, o): self._events.labels(t, o) for t in (*catalogue.EVENTS, UNKNOWN_TYPE)
                          for o in OUTCOMES}
        self._by_route: dict[tuple[str, int], Counter] = {}

    def request(self, route: str, status: int) -> None:
        child = self._by_route.get((route, status))
        if child is None:
            child = self._by_route[(route, status)] = self._requests.labels(route, str(status))
        child.inc()

    def events(self, outcome: str, event_types: Sequence[str | None]) -> None:
        # One event (any GET) is the common case: no tally to build.
        tally = collections.Counter(event_types).items() if len(event_types) > 1 else ((t, 1) for t in event_types)
        for event_type, n in tally:
            child = self._by_event.get((event_type, outcome)) or self._by_event[(UNKNOWN_TYPE, outcome)]
            child.inc(n)

    def ack_seconds(self, seconds: float) -> None:
        self._ack.observe(seconds)

    def queue_length(self, n: int) -> None:
        self._queue.set(n)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The text and its content type, as the client asked (Accept), as prometheus_client's
        own server answers on the metrics' own port."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def from_settings(enabled: bool, port: int) -> NoMetrics:
    return ApiMetrics(on_api_port=not port) if enabled else NoMetrics()


def add_metrics(app: Flask, metrics: NoMetrics) -> None:
    """Counts every request the app answers, and serves GET /metrics when on the API's port."""
    app.extensions["metrics"] = metrics
    if not metrics.enabled:
        return

    @app.after_request
    def count_request(resp: Response) -> Response:
        rule = request.url_rule
        metrics.request(rule.rule if rule is not None else UNMATCHED, resp.status_code)
        return resp

    if metrics.on_api_port:
        @app.get(ROUTE)
        def scrape():
            body, content_type = metrics.exposition(request.headers.get("Accept"))
            return Response(body, content_type=content_type)


def request_event_types() -> list[str | None]:
    """The types of the request's events: a batch's elements' once its body is read
    (g.batch_items), else the GET route's own, else one unknown."""
    if (items := g.get("batch_items")) is not None:
        return [t if isinstance(item, dict) and isinstance(t := item.get("event_type"), str) else None
                for item in items]
    rule = request.url_rule
    return [EVENT_TYPES.get(rule.rule) if rule is not None else None]


def count_events(outcome: str, event_types: Sequence[str | None] | None = None) -> None:
    """Counts a request's events that share an outcome (all of them unless event_types says
    which), in /health's counters and in /metrics'."""
    if event_types is None:
        event_types = request_event_types()
    extensions = current_app.extensions
    extensions["event_log"].count(outcome, len(event_types))
    extensions["metrics"].events(outcome, event_types)


def serve_port(host: str, port: int) -> None:
    """Serves the workers' metrics on a port of their own, from the process that forks
    them (serve.py says why), in a daemon thread."""
    registry = CollectorRegistry()
    _Workers(registry, str(_directory))
    start_http_server(port, addr=host, registry=registry)
