"""A broker outage while events flow: 503s, never a false 2xx, and the API recovers.
The promises are those of issue 6; figures go to var/test-figures.txt. Prometheus, which
scrapes the API meanwhile, fires ApiUnavailable, and its counts of the requests and
events (the 2xx, the 503s and a few 400s sent during the outage), summed over the API's
workers, equal the test's own."""
import time
from collections import Counter

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from game_events import catalogue, settings
from game_events.api import metrics as api_metrics
from stack import services
from tests.support import prometheus
from tests.support.commands import launcher
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import kill
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(900, func_only=True)
HALF_OUTAGE_S = 15  # the broker stays down twice this long; /health is asked half way
BAD_REQUESTS = 5  # sent half way too: refused with a 400 whether Kafka is up or not


HEALTH_ANSWERS: list[int] = []  # the status of each /health call the test made


def health() -> tuple[int, str]:
    r = requests.get(f"{settings.API_URL}/health", timeout=20)
    HEALTH_ANSWERS.append(r.status_code)
    return r.status_code, r.json()["kafka"]


def api_counts() -> tuple[Counter, Counter]:
    """The API's own /metrics, read directly: requests by (route, status) and events by
    (event type, outcome)."""
    (m,) = services.api_metrics()
    text = requests.get(f"http://{m.host}:{m.port}{m.path}", timeout=10).text
    requests_, events = Counter(), Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == api_metrics.REQUESTS:
                requests_[(s.labels["route"], s.labels["status"])] += s.value
            elif s.name == api_metrics.EVENTS:
                events[(s.labels["event_type"], s.labels["outcome"])] += s.value
    return requests_, events


def scraped_counts() -> tuple[Counter, Counter]:
    """The same counters as Prometheus scraped them, read back through its HTTP API."""
    requests_ = Counter({(s["metric"]["route"], s["metric"]["status"]): float(s["value"][1]) for s in
                         prometheus.query(f"sum by (route, status) ({api_metrics.REQUESTS})")})
    events = Counter({(s["metric"]["event_type"], s["metric"]["outcome"]): float(s["value"][1]) for s in
                      prometheus.query(f"sum by (event_type, outcome) ({api_metrics.EVENTS})")})
    return requests_, events


def test_broker_outage_gives_503s_never_a_false_2xx_and_the_api_recovers(pipeline, monitoring, tag):
    wait_for(lambda: prometheus.value('up{job="api"}') == 1, 30, what="Prometheus to scrape the API")
    before_requests, before_events = api_counts()
    with Load(tag) as load:
        load.wait_answered(20)
        kill("kafka")
        t_kill = time.monotonic()
        time.sleep(HALF_OUTAGE_S)  # the fault itself: no condition to wait for
        health_down = health()
        bad = [requests.get(f"{settings.API_URL}/get_paid", params={"user": f"bad-{tag}", "amount": "lots"},
                            timeout=20) for _ in range(BAD_REQUESTS)]
        time.sleep(HALF_OUTAGE_S)
        t_restart = time.monotonic()
        launcher("up", "kafka")
        t_back = time.monotonic()  # Kafka answers its readiness call again
        recovered, _ = wait_for(lambda: load.first_success_after(t_back), 60, interval=0.1,
                                what="a 2xx after the broker came back")
        load.wait_answered(20, after=t_back + 5)
        wait_for(lambda: health() == (200, "reachable"), 10, what="/health to see Kafka again")
    assert health_down == (503, "unreachable")
    assert [(r.status_code, r.json().get("field")) for r in bad] == [(400, "amount")] * BAD_REQUESTS
    during = [s for s in load.sent if s.t_sent > t_kill + 1 and s.t_done < t_restart]
    late = [s for s in load.sent if s.t_sent > t_back + 5]
    record_figure("broker outage: seconds from Kafka healthy to a 2xx; from Kafka start to a 2xx; Kafka start-up",
                  (round(recovered, 2), round(load.first_success_after(t_restart), 2), round(t_back - t_restart, 1)))
    record_figure("broker outage: requests answered while the broker was down",
                  dict(Counter(s.status for s in during)))
    assert during and {s.status for s in during} == {503}
    assert recovered <= 5
    assert late and {s.status for s in late} == {200}
    audit(tag, load.sent, "broker outage 30 s")

    # What Prometheus saw: the alert, and every request and event the test sent, counted
    # once over all of granian's workers (Prometheus' own scrapes of /metrics left out).
    assert 0 not in {s.status for s in load.sent}, "a request got no HTTP answer"
    routes = {e.event_type: e.route for e in catalogue.EVENTS.values()}
    outcome = {200: "accepted", 400: "rejected", 503: "unavailable"}
    own_requests = Counter((routes[s.event_type], str(s.status)) for s in load.sent) + \
        Counter(("/health", str(status)) for status in HEALTH_ANSWERS) + \
        Counter((routes["get_paid"], str(r.status_code)) for r in bad)
    own_events = Counter((s.event_type, outcome[s.status]) for s in load.sent) + \
        Counter(("get_paid", outcome[r.status_code]) for r in bad)

    def moved() -> tuple[dict, dict]:
        after_requests, after_events = scraped_counts()
        return ({k: v - before_requests[k] for k, v in after_requests.items()
                 if v != before_requests[k] and k[0] != "/metrics"},
                {k: v - before_events[k] for k, v in after_events.items() if v != before_events[k]})
    own = (dict(own_requests), dict(own_events))
    try:  # until the scrape after the last request: 30 s is fifteen scrapes
        wait_for(lambda: moved() == own, 30, what="Prometheus' counts to reach the test's own")
    except AssertionError:
        assert moved() == own  # pytest shows where they differ
        raise
    wait_for(lambda: "firing" in prometheus.alert_states("ApiUnavailable"), 30, what="ApiUnavailable to fire")
