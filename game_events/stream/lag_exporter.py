"""The lag-exporter service: serves game_stream_kafka_lag_records{partition} on
LAG_EXPORTER_PORT, computed at each scrape (lag.py: the topic's end offsets less the
stream's checkpoint), from a process of its own so that it keeps rising while the stream is
down. `python -m game_events.stream.lag_exporter` runs it until it is stopped.

A scrape that cannot read Kafka or HDFS serves no lag sample rather than an old or a zero
one, which would read as a stream caught up, and counts the failure by source in
game_stream_lag_read_errors_total; the exporter itself stays up."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from game_events import settings
from game_events.stream import lag, metrics_names as names

log = logging.getLogger("game_events.lag_exporter")
SOURCES = ("kafka", "hdfs")
# Each read's bound: both together stay under Prometheus' scrape timeout (PROMETHEUS_INTERVAL, 10 s).
READ_TIMEOUT_S = 3.0


class LagCollector(Collector):
    def __init__(self, end_offsets: Callable[[], dict[int, int]] = partial(lag.end_offsets, READ_TIMEOUT_S),
                 committed_offsets: Callable[[], dict[int, int]] = partial(lag.committed_offsets, READ_TIMEOUT_S)):
        self.read = {"kafka": end_offsets, "hdfs": committed_offsets}
        self.errors = dict.fromkeys(SOURCES, 0)

    def collect(self) -> Iterator:
        offsets = {}
        for source in SOURCES:
            try:
                offsets[source] = self.read[source]()
            except Exception as e:  # unreachable, or a bad answer: said in the log and the counter
                self.errors[source] += 1
                log.warning("cannot read the %s side of the lag: %s: %s", source, type(e).__name__, str(e)[:200])
        gauge = GaugeMetricFamily(names.KAFKA_LAG, f"Records of topic {settings.TOPIC} the stream has not committed, "
                                  "per partition (its end offset less the stream's checkpoint)", labels=["partition"])
        if len(offsets) == len(SOURCES):
            for part, o in lag.lag(offsets["kafka"], offsets["hdfs"]).items():
                gauge.add_metric([str(part)], o["lag"])
        yield gauge
        errors = CounterMetricFamily(names.LAG_ERRORS, "Scrapes whose lag could not be computed, by the side "
                                     "that could not be read", labels=["source"])
        for source, n in self.errors.items():
            errors.add_metric([source], n)
        yield errors


def registry(collector: Collector) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)  # describing would read Kafka and HDFS at registration
    reg.register(collector)
    return reg


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _, thread = start_http_server(settings.LAG_EXPORTER_PORT, addr=settings.BIND_HOST,
                                  registry=registry(LagCollector()))
    log.info("serving the lag of %s behind %s on %s:%d", settings.CHECKPOINT_PATH, settings.TOPIC, settings.BIND_HOST,
             settings.LAG_EXPORTER_PORT)
    thread.join()


if __name__ == "__main__":
    main()
