"""The API's connection to Kafka: one confluent-kafka (librdkafka) producer per worker
process, created after the fork, with a poll thread whose delivery reports wake the
waiting requests; every wait bounded; and the API's counters, shared by the workers."""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Producer
from flask import current_app

from game_events import catalogue
from game_events.api.metrics import OUTCOMES, NoMetrics

LOG = logging.getLogger(__name__)  # under the app's logger, "game_events.api"
# /health's counters: events by outcome, as /metrics counts them, kept even with API_METRICS=0.
COUNTERS = OUTCOMES
# After librdkafka reports every broker down, requests still wait this long before they get
# their 503 at once: a broker that closed an idle connection is back within milliseconds.
DOWN_GRACE_S = 1.0
# While Kafka is down, one request in ten seconds still goes to the producer (and waits),
# so that recovery never depends on the statistics alone; the others get their 503 at once.
PROBE_EVERY_S = 10.0


class KafkaUnavailable(Exception):
    pass


class _Acks:
    """The delivery reports of one request's messages: done once every message handed to
    the producer has one (the count is known only after the last produce())."""

    def __init__(self):
        self.lock, self.done = threading.Lock(), threading.Event()
        self.sent, self.reports, self.stored = None, 0, []

    def report(self, index: int, err, _msg) -> None:  # on the poll thread
        with self.lock:
            self.reports += 1
            if err is None:
                self.stored.append(index)
            if self.reports == self.sent:
                self.done.set()

    def handed_over(self, n: int) -> None:
        with self.lock:
            self.sent = n
            if self.reports == n:
                self.done.set()

    def wait(self, timeout_s: float) -> list[int]:
        self.done.wait(timeout_s)
        with self.lock:
            return sorted(self.stored)


class EventLog:
    """Kafka as the API sees it: deliver() returns once Kafka acknowledged (acks=all), or
    timed out, within ack_timeout_s. Nothing connects before the first request of a worker:
    the server builds the app before it forks (game_events/api/serve.py), and librdkafka's threads do not
    survive a fork, so the producer is keyed by the process id."""

    def __init__(self, bootstrap: str, ack_timeout_s: float, metrics: NoMetrics = NoMetrics()):
        self.bootstrap, self.ack_timeout_s, self.metrics = bootstrap, ack_timeout_s, metrics
        self._pid, self._producer = None, None
        self._lock = threading.Lock()  # only ever taken in a worker
        self._up: bool | None = None  # None: not known yet in this process
        self._down_since, self._next_probe = 0.0, 0.0
        # In shared memory: the server forks its workers from the process that built the
        # app, so every worker adds to the same counts and /health shows them all.
        self._counts = multiprocessing.Array("q", len(COUNTERS))

    def count(self, what: str, n: int = 1) -> None:
        with self._counts.get_lock():
            self._counts[COUNTERS.index(what)] += n

    @property
    def counters(self) -> dict[str, int]:
        with self._counts.get_lock():
            return dict(zip(COUNTERS, self._counts))

    def producer(self) -> Producer:
        """This process's producer, created on first use (and again after a fatal error)."""
        producer = self._producer
        if producer is not None and self._pid == os.getpid():
            return producer
        with self._lock:
            if self._producer is None or self._pid != os.getpid():
                self._pid, self._up = os.getpid(), None
                self._producer = self._create()
                threading.Thread(target=self._serve, args=(self._producer,), daemon=True,
                                 name="kafka-poll").start()
            return self._producer

    def _create(self) -> Producer:
        timeout_ms = int(self.ack_timeout_s * 1000)
        return Producer({
            "bootstrap.servers": self.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 1,
            # Nagle's algorithm would hold a lone small produce request back for the ACK of
            # the previous one (tens of ms on loopback); kafka-python disabled it too.
            "socket.nagle.disable": True,
            # librdkafka fails a message it could not deliver in time, a little before the
            # request stops waiting, so a 503 is the usual answer rather than a late ack.
            "message.timeout.ms": max(1, int(timeout_ms * 0.9)),
            "socket.timeout.ms": max(10, timeout_ms),
            "request.timeout.ms": max(1, timeout_ms),
            # Keep a connection to every broker and retry it each second: the statistics
            # then say when Kafka is back, even while no request is let through.
            "enable.sparse.connections": False,
            "reconnect.backoff.max.ms": 1000,
            # When a partition's leader is lost, ask for the new one and retry every 50 ms up
            # to 250 ms apart (librdkafka's default grows to 1 s): with several brokers, a
            # failover then costs about the brokers' own detection time, not a second more.
            "retry.backoff.ms": 50,
            "retry.backoff.max.ms": 250,
            "statistics.interval.ms": 500,
            "stats_cb": self._on_stats,
            "error_cb": self._on_error,
        })

    def _serve(self, producer: Producer) -> None:
        """The poll thread: runs the delivery reports and callbacks until the producer is
        replaced, then fails what it still holds."""
        while self._producer is producer:
            try:
                producer.poll(0.5)
            except Exception as e:  # a callback raised: keep serving the others
                LOG.error("kafka poll: %s", e)
        producer.purge()
        producer.poll(0)

    def _on_stats(self, stats_json: str) -> None:
        if (producer := self._producer) is not None:  # every statistics.interval.ms, on the poll thread
            self.metrics.queue_length(len(producer))
        if any(b.get("state") == "UP" for b in json.loads(stats_json).get("brokers", {}).values()):
            self._up = True

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN and self._up is not False:
            self._up, self._down_since = False, time.monotonic()
        elif err.fatal():  # an idempotence error librdkafka cannot recover from: start afresh
            self._producer = None

    def _accepting(self) -> bool:
        """False while Kafka is known to be down, so that the request gets its 503 at once."""
        if self._up is not False:
            return True
        now = time.monotonic()
        if now - self._down_since < DOWN_GRACE_S:
            return True
        if now >= self._next_probe:
            self._next_probe = now + PROBE_EVERY_S
            return True
        return False

    def deliver(self, topic: str, values: list[bytes]) -> list[int]:
        """Hands every value to the producer, then waits (bounded) for Kafka's
        acknowledgements; returns the indices Kafka confirmed it stored. Stops handing over
        at the first value the producer refuses (too large, queue full)."""
        producer = self.producer()
        if not self._accepting():
            raise KafkaUnavailable("every Kafka broker is down")
        acks, sent, start = _Acks(), 0, time.perf_counter()
        try:
            for value in values:
                producer.produce(topic, value, on_delivery=partial(acks.report, sent))
                sent += 1
        except (KafkaException, BufferError) as e:  # the rest were never handed over
            LOG.warning("kafka refused event %d of %d: %s", sent, len(values), e)
        acks.handed_over(sent)
        stored = acks.wait(self.ack_timeout_s)
        if sent:
            self.metrics.ack_seconds(time.perf_counter() - start)
        if stored:
            self._up = True  # an acknowledgement is proof enough
        return stored

    def send(self, topic: str, event: dict) -> None:
        if not self.deliver(topic, [catalogue.encode(event)]):
            raise KafkaUnavailable(f"no acknowledgement within {self.ack_timeout_s} s")

    def reachable(self) -> bool:
        """What the statistics last said; when they said nothing yet, a metadata call."""
        producer = self.producer()
        if self._up is None:
            try:
                producer.list_topics(timeout=self.ack_timeout_s)
                self._up = True
            except KafkaException:
                return False
        return bool(self._up)


def log_to_kafka(topic: str, event: dict) -> None:
    """Sends one event as JSON to `topic` and returns once Kafka has stored it."""
    current_app.extensions["event_log"].send(topic, event)
