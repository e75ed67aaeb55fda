"""Property-based fuzzing of the running API (gunicorn, real Kafka): over 10,000 requests
from hypothesis, with wrong methods, routes, parameters, encodings and forged headers.

Properties: no 5xx while Kafka is up; a 2xx only for a GET on an event route; and the
topic holds exactly the events of the 2xx replies, each with exactly the catalogue's
fields and the values sent, so nothing forged and nothing refused reaches Kafka.
A second API process writes to a topic of its own, so the comparison is exact.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, record_figure, wait_for
from game_events import catalogue, config

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PORT = 5100 + os.getpid() % 100
ROUTES = {e.route: e for e in catalogue.EVENTS.values()}
NAMES = sorted({p.name for e in catalogue.EVENTS.values() for p in e.params} | set(catalogue.event_fields())
               | {h for h, _ in catalogue.HEADERS})
EXAMPLES, PER_EXAMPLE = 110, 100  # 11,000 requests


@pytest.fixture(scope="module")
def fuzz_api(pipeline):
    """A second API process on its own port, writing to a topic of its own."""
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"fuzz-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=config.KAFKA_BOOTSTRAP)
    admin.create_topics([NewTopic(topic, 1, 1)])
    env = {**os.environ, "API_PORT": str(PORT), "EVENTS_TOPIC": topic}
    log = open(ROOT / "var" / "logs" / "api-fuzz.log", "ab")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--config",
                             str(ROOT / "game_events" / "gunicorn_conf.py"), "--access-logfile", "/dev/null",
                             "game_api:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def healthy():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                conn.request("GET", "/health")
                return conn.getresponse().status == 200
            except OSError:
                return False

        wait_for(healthy, 30, what="the fuzz API")
        yield topic
    finally:
        proc.terminate()
        proc.wait(30)
        admin.delete_topics([topic])
        admin.close()
        log.close()


def encoded(value: str | bytes) -> str:
    return quote_from_bytes(value) if isinstance(value, bytes) else quote(value, safe="")


TRICKY = ["gold", "silver", "bronze", "wood", "0", "7", "007", str(catalogue.MAX_COINS),
          str(catalogue.MAX_COINS + 1), "-1", "1.5", "1e3", " 5", "knights", "a" * catalogue.MAX_TEXT,
          "a" * (catalogue.MAX_TEXT + 1), " ", "é", "☃", "\x00", "\x7f", "a\nb", '"', "'; drop table x"]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=80), st.binary(max_size=12))
params = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), values), max_size=5)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)
headers = st.dictionaries(st.sampled_from([h for h, _ in catalogue.HEADERS] + ["event_type", "user", "price",
                                                                               "amount", "fee", "X-Forwarded-For"]),
                          header_text, max_size=4)
requests_ = st.fixed_dictionaries({
    "method": st.sampled_from(["GET"] * 12 + ["HEAD", "POST", "PUT", "DELETE"]),
    "path": st.sampled_from(list(ROUTES) * 3 + ["/nope", "/get_paid/", "/GET_PAID", "//get_paid"]),
    "params": params,
    "headers": headers,
    "body": st.one_of(st.none(), st.binary(max_size=64), st.just(b"x" * 20_000)),
})


def expected_event(req: dict) -> dict | None:
    """The event the topic must hold if this request got a 2xx."""
    if req["method"] != "GET" or req["path"] not in ROUTES:
        return None
    values = {}
    for name, value in req["params"]:
        raw = value.encode() if isinstance(value, str) else value
        values[name] = unquote_to_bytes(encoded(raw)).decode("utf-8", errors="strict")
    event = ROUTES[req["path"]].build(values)
    sent = {k.lower(): v.strip(" \t") for k, v in req["headers"].items()}
    head = {h: sent.get(h.lower()) for h, _ in catalogue.HEADERS}
    head["Host"] = head["Host"] if head["Host"] is not None else f"127.0.0.1:{PORT}"
    return {**head, **event}


_local = threading.local()


def send(req: dict) -> tuple[int, bytes]:
    query = "&".join(f"{encoded(k)}={encoded(v)}" for k, v in req["params"])
    url = req["path"] + (f"?{query}" if query else "")
    for attempt in range(2):
        conn = getattr(_local, "conn", None) or http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        _local.conn = conn
        try:
            conn.request(req["method"], url, body=req["body"], headers=req["headers"])
            resp = conn.getresponse()
            body = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                _local.conn = None
            return resp.status, body
        except (http.client.HTTPException, OSError):
            conn.close()  # gunicorn closes the connection after some bad requests
            _local.conn = None
    raise AssertionError(f"no answer to {req['method']} {url}")


def test_fuzzed_requests_never_5xx_and_only_valid_events_reach_kafka(fuzz_api):
    from kafka import KafkaConsumer, TopicPartition

    results: list[tuple[dict, int, bytes]] = []
    pool = ThreadPoolExecutor(8)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(requests_, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def fuzz(batch):
        answers = list(pool.map(send, batch))
        results.extend((req, status, body) for req, (status, body) in zip(batch, answers))
        worst = max(answers, key=lambda a: a[0])
        assert worst[0] < 500, worst

    t0 = time.monotonic()
    fuzz()
    elapsed = time.monotonic() - t0
    pool.shutdown()

    statuses = Counter(status for _, status, _ in results)
    ok = [req for req, status, _ in results if 200 <= status < 300]
    assert all(expected_event(req) is not None for req in ok), "a 2xx for something that is not an event GET"
    unnamed = [(req, body) for req, status, body in results
               if status == 400 and body.startswith(b"{") and not json.loads(body).get("field")]
    assert unnamed == [], f"{len(unnamed)} 400s name no field, e.g. {unnamed[:3]}"

    consumer = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP, enable_auto_commit=False,
                             consumer_timeout_ms=10_000, max_partition_fetch_bytes=4 << 20)
    tp = TopicPartition(fuzz_api, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records = [json.loads(r.value) for r in consumer]
    consumer.close()

    for r in records:
        event = catalogue.EVENTS[r["event_type"]]
        assert set(r) == set(event.fields) | {h for h, _ in catalogue.HEADERS}, r
        for p in event.params:
            assert len(str(r[p.name])) <= catalogue.MAX_TEXT
    canon = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert Counter(map(canon, records)) == Counter(canon(expected_event(req)) for req in ok)

    record_figure("fuzz: requests, seconds, statuses, events in Kafka",
                  (len(results), round(elapsed, 1), dict(sorted(statuses.items())), len(records)))
    assert len(results) >= 10_000 and statuses[200] >= 100 and len(records) == statuses[200]
