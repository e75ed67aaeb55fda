"""The API's Prometheus metrics: the real server (granian, as `python -m game_events.api.serve`
starts it) with two workers and a Kafka that is not there, whose /metrics adds up what
every worker counted, a worker's SIGKILL and respawn included; the metrics' own port; and
the text's names, through the Flask test client."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from game_events import catalogue, settings
from game_events.api import create_app
from game_events.api.metrics import (ACK_BUCKETS, EVENTS, KAFKA_ACK, KAFKA_QUEUE, OUTCOMES, PREFIX, REQUESTS,
                                     UNKNOWN_TYPE, UNMATCHED, ApiMetrics, NoMetrics)
from tests.support.children import stop
from tests.support.waits import wait_for

ACK_TIMEOUT_S = 0.3
GOOD = {"event_type": "get_paid", "user": "a", "amount": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """The API under granian with two workers; its Kafka bootstrap is a closed local port,
    so a valid event gets its 503 after ACK_TIMEOUT_S (or at once once Kafka is known down)."""

    def __init__(self, tmp: Path, **env: str):
        self.port, self.dir = free_port(), tmp / "metrics"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "game_events.api.serve", "--no-access-log"], cwd=settings.ROOT,
            stdout=subprocess.DEVNULL, stderr=open(tmp / "api.log", "wb"),
            env={**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(self.port), "API_WORKERS": "2",
                 "API_THREADS": "4", "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
                 "KAFKA_ACK_TIMEOUT_S": str(ACK_TIMEOUT_S), "API_METRICS_DIR": str(self.dir), **env})
        wait_for(self.up, 30, interval=0.1, what=f"the API on port {self.port}; log: {tmp / 'api.log'}")

    def up(self) -> bool:
        assert self.proc.poll() is None, "the API exited"
        try:
            return requests.get(f"{self.url}/openapi.json", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def workers(self) -> set[int]:
        return {int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()}

    def counted_by(self) -> dict[int, float]:
        """Requests counted in each process's own file: which workers served."""
        by_pid = {}
        for f in self.dir.glob("counter_*.db"):
            samples = [s for m in MultiProcessCollector.merge([str(f)]) for s in m.samples if s.name == REQUESTS]
            by_pid[int(f.stem.split("_")[1])] = sum(s.value for s in samples)
        return by_pid


@pytest.fixture
def api(tmp_path):
    servers = []

    def start(**env: str) -> Api:
        servers.append(Api(tmp_path, **env))
        return servers[-1]

    yield start
    for s in servers:
        stop(s.proc, timeout=15)


def scrape(url: str) -> dict[tuple, float]:
    """Every sample of the text, keyed by its name and labels."""
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain"), resp.text
    return {(s.name, *sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def requests_count(samples, route: str, status: int) -> float:
    return samples.get((REQUESTS, ("route", route), ("status", str(status))), 0)


def events_count(samples, event_type: str, outcome: str) -> float:
    return samples.get((EVENTS, ("event_type", event_type), ("outcome", outcome)), 0)


def fresh_get(url: str) -> int:
    """A request on a new connection, so that the workers take turns accepting them."""
    return requests.get(url, timeout=30, headers={"Connection": "close"}).status_code


def fresh_post(url: str, events) -> int:
    return requests.post(url, json=events, timeout=30, headers={"Connection": "close"}).status_code


@pytest.mark.timeout(90)
def test_metrics_add_up_every_workers_counts(api):
    server = api()
    sent, statuses = Counter(), Counter()
    gets = {"unstorable": ("/get_paid?user=a&amount=1", 503), "bad": ("/get_paid?user=a&amount=x", 400),
            "bad sword": ("/purchase_a_sword?user=a&type=wood", 400)}
    batches = {"unstorable": ([GOOD, {**GOOD, "amount": "2"}, {"event_type": "default"}], 503),
               "bad": ([GOOD, {"event_type": "summon_dragon"}], 400)}

    def one_round(pool):
        futures = {("get", k): pool.submit(fresh_get, server.url + path) for k, (path, _) in gets.items()}
        futures |= {("post", k): pool.submit(fresh_post, server.url + "/events", body)
                    for k, (body, _) in batches.items()}
        for key, f in futures.items():
            statuses[key, f.result()] += 1
            sent[key] += 1

    # Rounds until both workers have served some (bounded): the counts must be every worker's.
    with ThreadPoolExecutor(8) as pool:
        wait_for(lambda: one_round(pool) or len([n for n in server.counted_by().values() if n]) >= 2, 60,
                 interval=0, what="both workers to serve requests")
    assert statuses == {(("get", k), want): sent["get", k] for k, (_, want) in gets.items()} | \
        {(("post", k), want): sent["post", k] for k, (_, want) in batches.items()}
    assert set(server.counted_by()) >= server.workers()

    samples = scrape(server.url + "/metrics")
    n_get, n_bad = sent["get", "unstorable"], sent["get", "bad"]
    n_sword, n_batch, n_bad_batch = sent["get", "bad sword"], sent["post", "unstorable"], sent["post", "bad"]
    assert requests_count(samples, "/get_paid", 503) == n_get
    assert requests_count(samples, "/get_paid", 400) == n_bad
    assert requests_count(samples, "/purchase_a_sword", 400) == n_sword
    assert requests_count(samples, "/events", 503) == n_batch
    assert requests_count(samples, "/events", 400) == n_bad_batch
    # Events, not requests: each element of a batch counts, by its own type.
    assert {(t, o): events_count(samples, t, o) for t in (*catalogue.EVENTS, UNKNOWN_TYPE) for o in OUTCOMES
            if events_count(samples, t, o)} == {
        ("get_paid", "unavailable"): n_get + 2 * n_batch, ("default", "unavailable"): n_batch,
        ("get_paid", "rejected"): n_bad + n_bad_batch, ("unknown", "rejected"): n_bad_batch,
        ("purchase_sword", "rejected"): n_sword}
    # No broker: each wait for Kafka ended near the ack timeout (librdkafka fails a message at
    # 90% of it), so none is in a bucket below that, and all are within a few buckets above.
    waits = samples[(KAFKA_ACK + "_count",)]
    assert waits == n_get + n_batch  # one wait per request that produced
    below = max(b for b in ACK_BUCKETS if b < 0.9 * ACK_TIMEOUT_S)
    above = min(b for b in ACK_BUCKETS if b >= 5 * ACK_TIMEOUT_S)
    assert samples[(KAFKA_ACK + "_bucket", ("le", str(below)))] == 0
    assert samples[(KAFKA_ACK + "_bucket", ("le", str(above)))] == waits
    assert samples[(KAFKA_QUEUE,)] >= 0
    # /health's counters are the same events by outcome.
    health = requests.get(server.url + "/health", timeout=10).json()["counters"]
    assert health == {o: sum(events_count(samples, t, o) for t in (*catalogue.EVENTS, UNKNOWN_TYPE))
                      for o in OUTCOMES}


@pytest.mark.timeout(90)
def test_a_killed_workers_counts_stay_and_its_gauge_goes(api):
    server = api()
    workers = server.workers()
    assert len(workers) == 2
    # Until each worker has a producer whose statistics have set its queue gauge.
    gauges = lambda: {int(f.stem.rsplit("_", 1)[1]) for f in server.dir.glob("gauge_livesum_*.db")}
    n = 0

    def both_have_a_producer() -> bool:
        nonlocal n
        assert fresh_get(server.url + "/get_paid?user=a&amount=1") == 503
        n += 1
        return gauges() >= workers

    wait_for(both_have_a_producer, 40, interval=0, what="a queue gauge from each worker")
    before = scrape(server.url + "/metrics")
    assert requests_count(before, "/get_paid", 503) == events_count(before, "get_paid", "unavailable") == n

    victim = workers.pop()
    os.kill(victim, 9)
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 2, 30, interval=0.1,
             what="granian to respawn the killed worker")
    after = scrape(server.url + "/metrics")
    # The dead worker's counts still count; its gauge file is gone, the live ones' stay.
    assert requests_count(after, "/get_paid", 503) == events_count(after, "get_paid", "unavailable") == n
    assert requests_count(after, "/metrics", 200) == 1
    assert victim not in gauges() and workers <= gauges()


@pytest.mark.timeout(60)
def test_metrics_on_a_port_of_their_own(api):
    port = free_port()
    server = api(API_METRICS_PORT=str(port))
    for _ in range(3):
        assert fresh_get(server.url + "/get_paid?user=a&amount=x") == 400
    public = requests.get(server.url + "/metrics", timeout=10)
    assert public.status_code == 404
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert requests_count(samples, "/get_paid", 400) == 3
    assert requests_count(samples, UNMATCHED, 404) == 1  # the public /metrics
    assert events_count(samples, "get_paid", "rejected") == 3


def test_the_text_parses_and_follows_the_naming_conventions(storing_client, kafka):
    """Through the test client (one process): every family is the API's, a counter's samples
    end in _total, the histogram is in seconds, and 2xx events count as accepted, by type."""
    kafka.take = 1
    assert storing_client.get("/get_paid?user=a&amount=1").status_code == 200
    assert storing_client.post("/events", json=[GOOD, {"event_type": "default"}]).status_code == 503
    resp = storing_client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(resp.get_data(as_text=True))}
    assert {f.type for f in families.values()} == {"counter", "histogram", "gauge"}
    for name, f in families.items():
        assert name.startswith(PREFIX) and name == name.lower() and f.documentation, name
        if f.type == "counter":
            assert {s.name for s in f.samples} == {name + "_total"}
        if f.type == "histogram":
            assert name.endswith("_seconds")
    assert {f.name for f in families.values() if f.type == "counter"} == {REQUESTS[:-6], EVENTS[:-6]}
    samples = {(s.name, *sorted(s.labels.items())): s.value for f in families.values() for s in f.samples}
    assert events_count(samples, "get_paid", "accepted") == 2
    assert events_count(samples, "default", "unavailable") == 1
    assert requests_count(samples, "/get_paid", 200) == requests_count(samples, "/events", 503) == 1
    # Every series of the bounded labels exists from the start.
    assert sum(1 for k in samples if k[0] == EVENTS) == (len(catalogue.EVENTS) + 1) * len(OUTCOMES)


def test_metrics_off_serves_none_and_health_still_counts(kafka):
    client = create_app(kafka.log, NoMetrics()).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/get_paid?user=a&amount=x").status_code == 400
    assert client.get("/health").json["counters"]["rejected"] == 1


def test_metrics_on_another_port_are_not_on_the_apis(kafka):
    assert create_app(kafka.log, ApiMetrics(on_api_port=False)).test_client().get("/metrics").status_code == 404
