"""The API's connection to Kafka: one producer per process, thread-safe, connected lazily
and replaced when it fails, with every wait bounded; and the API's counters."""
from __future__ import annotations

import multiprocessing
import threading
import time

from flask import current_app

from game_events import catalogue, settings

COUNTERS = ("accepted", "rejected", "unavailable")


class KafkaUnavailable(Exception):
    pass


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

    def discard(self, producer) -> None:
        """Replaces a producer that failed (see the class's note)."""
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
            self.discard(producer)
            raise KafkaUnavailable(str(e) or type(e).__name__) from e

    def reachable(self) -> bool:
        try:
            producer = self.producer()
            return bool(producer.bootstrap_connected() or producer.partitions_for(settings.TOPIC))
        except Exception:
            return False


def log_to_kafka(topic: str, event: dict) -> None:
    """Sends one event as JSON to `topic` and returns once Kafka has stored it."""
    current_app.extensions["event_log"].send(topic, event)
