"""The API's /metrics on the running stack: the events Kafka stored, counted over
granian's worker processes, equal the test's own 2xx replies and what reached the topic."""
from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from game_events import settings
from game_events.api import metrics
from tests.support.engines import topic_end
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(120, func_only=True)
API = settings.API_URL


def scrape() -> dict[tuple, float]:
    text = requests.get(f"{API}{metrics.ROUTE}", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def grew(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


def test_accepted_events_and_acks_add_up_over_the_workers(pipeline, tag):
    gets, batch = 12, [{"event_type": "purchase_sword", "user": f"m-{tag}", "type": "gold"},
                       {"event_type": "join_a_guild", "user": f"m-{tag}", "name": "Owls"},
                       {"event_type": "get_paid", "user": f"m-{tag}", "amount": 5}]
    before, offset = scrape(), topic_end()
    waited = 0.0  # the client's own clock over the requests that produced
    for i in range(gets):
        # A new connection each: granian's workers share the listening socket, so both serve.
        r = requests.get(f"{API}/get_paid", params={"user": f"m{i}-{tag}", "amount": i + 1}, timeout=30,
                         headers={"Connection": "close"})
        assert r.status_code == 200, r.text
        waited += r.elapsed.total_seconds()
    r = requests.post(f"{API}/events", json=batch, timeout=30)
    assert r.status_code == 200, r.text
    waited += r.elapsed.total_seconds()
    bad = requests.get(f"{API}/get_paid", params={"user": f"x-{tag}", "amount": "lots"}, timeout=30)
    assert bad.status_code == 400
    after = scrape()
    stored = topic_end() - offset
    assert stored == gets + len(batch)  # nothing else writes to the topic during the stack tests
    assert grew(before, after, metrics.EVENTS, event_type="get_paid", outcome="accepted") == gets + 1
    for t in ("purchase_sword", "join_a_guild"):
        assert grew(before, after, metrics.EVENTS, event_type=t, outcome="accepted") == 1
    assert grew(before, after, metrics.EVENTS, event_type="get_paid", outcome="rejected") == 1
    assert grew(before, after, metrics.REQUESTS, route="/get_paid", status="200") == gets
    assert grew(before, after, metrics.REQUESTS, route="/events", status="200") == 1
    assert grew(before, after, metrics.REQUESTS, route="/get_paid", status="400") == 1
    # One wait for acknowledgements per request that produced, in seconds: each wait lies
    # within its request, as the client timed it (a bound that holds on a loaded machine,
    # where CI saw 3 of 13 waits over 0.5 s).
    assert grew(before, after, metrics.KAFKA_ACK + "_count") == gets + 1
    assert 0 < grew(before, after, metrics.KAFKA_ACK + "_sum") <= waited
    # Once idle, no message waits in any worker's producer queue.
    wait_for(lambda: scrape().get((metrics.KAFKA_QUEUE, ())) == 0, 10, what="the producer queues to empty")
