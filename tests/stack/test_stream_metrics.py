"""The stream's /metrics and the lag exporter's on the running stack: the landed and
quarantined counters move with what Presto shows, Prometheus scrapes the same values, and
the lag served by the exporter is the lag `make status` computes."""
from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from game_events import settings
from game_events.stream import metrics_names as names
from tests.support import prometheus
from tests.support.commands import BIN, launcher, run
from tests.support.engines import caught_up, presto_rows, stream_lag
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(240, func_only=True)
STREAM = f"http://127.0.0.1:{settings.STREAM_METRICS_PORT}/metrics"
EXPORTER = f"http://127.0.0.1:{settings.LAG_EXPORTER_PORT}/metrics"


def scrape(url: str) -> dict[tuple, float]:
    text = requests.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(sample: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in sample.items() if n == name and set(labels.items()) <= set(ls))


def test_landed_and_quarantined_counters_move_with_presto(pipeline, monitoring, tag):
    # What earlier tests sent has landed: the counters below move with this test's records only.
    wait_for(caught_up, 120, what="the stream to land what was sent before")
    before = scrape(STREAM)
    n = 7
    for i in range(n):
        assert requests.get(f"{settings.API_URL}/get_paid", params={"user": f"sm{i}-{tag}", "amount": i + 1},
                            timeout=30).status_code == 200
    # Two records that are not JSON and one of a type the catalogue lacks, straight to Kafka.
    garbage = [b"not json " + tag.encode(), b"{broken " + tag.encode(),
               b'{"event_type": "summon_dragon", "user": "%s"}' % tag.encode()]
    run(BIN / "kafkacat", "-P", "-t", settings.TOPIC, input=b"\n".join(garbage).decode() + "\n", timeout=30)
    wait_for(lambda: presto_rows(f"select count(*) from hive_events where user like '%-{tag}'") == [(n,)]
             and presto_rows(f"select count(*) from hive_bad_events where raw_event like '%{tag}%'") == [(3,)],
             120, what="the events and the garbage in Presto")
    # The counters move after the batch's files are in the tables, and the API's events
    # and the garbage may land in two batches: wait for both counters.
    after, _ = wait_for(lambda: (lambda s: s if total(s, names.ROWS_LANDED) - total(before, names.ROWS_LANDED) >= n
                                 and total(s, names.ROWS_QUARANTINED) - total(before, names.ROWS_QUARANTINED) >= 3
                                 else None)(scrape(STREAM)), 30, what="the landed and quarantined counters")
    assert total(after, names.ROWS_LANDED) - total(before, names.ROWS_LANDED) == n
    quarantined = {k: total(after, names.ROWS_QUARANTINED, reason=k) - total(before, names.ROWS_QUARANTINED, reason=k)
                   for k in ("not_json_object", "unknown_event_type")}
    assert quarantined == {"not_json_object": 2, "unknown_event_type": 1}
    assert total(after, names.ROWS_QUARANTINED) - total(before, names.ROWS_QUARANTINED) == 3
    batches = total(after, names.BATCHES) - total(before, names.BATCHES)
    assert batches >= 1
    assert total(after, names.BATCH_DURATION + "_count") - total(before, names.BATCH_DURATION + "_count") == batches
    # Prometheus' copy, read back through its HTTP API: the same counts, once it has scraped.
    scraped = {"landed": f'sum({names.ROWS_LANDED}{{job="stream"}})',
               "not_json_object": f'sum({names.ROWS_QUARANTINED}{{job="stream", reason="not_json_object"}})',
               "unknown_event_type": f'sum({names.ROWS_QUARANTINED}{{job="stream", reason="unknown_event_type"}})'}
    direct = {"landed": total(after, names.ROWS_LANDED),
              **{k: total(after, names.ROWS_QUARANTINED, reason=k) for k in ("not_json_object", "unknown_event_type")}}
    wait_for(lambda: {k: prometheus.value(q) for k, q in scraped.items()} == direct, 30,
             what=f"Prometheus to scrape the stream's counters {direct}")


def test_the_exporters_lag_is_the_lag_status_computes(pipeline):
    launcher("up", "lag-exporter")
    # Caught up (no load runs between tests): both say 0 for every partition.
    served, _ = wait_for(lambda: (lambda s: s if s and all(v == 0 for v in s.values()) else None)(
        {dict(ls)["partition"]: v for (n, ls), v in scrape(EXPORTER).items() if n == names.KAFKA_LAG}),
        60, what="the exporter to serve a lag of 0")
    assert {int(p): v for p, v in served.items()} == {p: 0 for p in stream_lag()}
