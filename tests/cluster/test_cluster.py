"""The pipeline on the cluster profile: the topic's layout, exactly-once delivery across
its partitions with the stream's executors on both Spark workers, bad records judged there
too, Presto's splits on its worker, the report's answers, and the profile's memory."""
import re
import time
import uuid
from collections import Counter

import pytest

from game_events import settings, topic
from stack import probes, services
from stack.processes import rss_mib
from tests.stack.test_pipeline import GARBAGE, LANDING_TIMEOUT
from tests.stack.test_report import test_report_numbers_are_the_seeded_mixs as single_node_report_test
from tests.support.commands import BIN, run
from tests.support.engines import presto_rows, stream_lag
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import pid_of
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(900, func_only=True)
IDLE_RSS_LIMIT_MIB = 10 * 1024
# The services the issue names, as `make status` lists them.
SERVICES = ["kafka1", "kafka2", "kafka3", "namenode", "datanode1", "datanode2", "metastore", "spark-master",
            "spark-worker1", "spark-worker2", "presto", "presto-worker1", "api", "stream"]


def test_the_idle_cluster_fits_in_10_gib(pipeline):
    # The pipeline's services: Prometheus and the lag exporter (the all group) are not in it.
    rss = {name: round(rss_mib(pid_of(name))) for name in services.GROUPS["pipeline"]}
    record_figure("cluster profile: idle RSS per service, MiB", rss)
    record_figure("cluster profile: idle RSS in total, MiB", sum(rss.values()))
    assert list(rss) == SERVICES and all(rss.values()), rss
    assert sum(rss.values()) < IDLE_RSS_LIMIT_MIB, rss


def test_the_topic_has_six_partitions_replicated_three_times(pipeline):
    out = run(BIN / "kafka-topics", "--describe", "--topic", settings.TOPIC).stdout
    assert re.search(r"PartitionCount: 6\s+ReplicationFactor: 3", out), out
    assert "min.insync.replicas=2" in out, out
    parts = re.findall(r"Partition: (\d+)\s+Leader: (\d+)\s+Replicas: ([\d,]+)\s+Isr: ([\d,]+)", out)
    assert sorted(int(p) for p, *_ in parts) == list(range(6)), out
    for _, leader, replicas, isr in parts:
        assert sorted(replicas.split(",")) == sorted(isr.split(",")) == ["1", "2", "3"], out
        assert leader in replicas.split(","), out
    # The preferred leaders (each partition's first replica) are spread over the nodes; the
    # leaders themselves gather on the nodes that started first, until Kafka rebalances.
    assert Counter(replicas.split(",")[0] for *_, replicas, _ in parts) == {"1": 2, "2": 2, "3": 2}, out


def test_every_2xx_lands_exactly_once_across_partitions(pipeline, tag):
    with Load(tag, threads=8) as load:
        load.wait_answered(1500, timeout=120)
    figures = audit(tag, load.sent, "cluster: exactly once across 6 partitions, 8 clients")
    assert figures["acknowledged"] >= 1500
    lag = stream_lag()
    assert sorted(lag) == list(range(6)) and set(lag.values()) == {0}, lag
    # The stream runs on the standalone master, with an executor on each worker.
    master = probes.spark_master_state()
    apps = master["activeapps"]
    assert [a["name"] for a in apps] == ["write_event_stream"] and apps[0]["cores"] == 2, master
    assert master["aliveworkers"] == 2 and master["coresused"] == 2, master


def test_bad_records_read_on_the_workers_are_quarantined(pipeline, tag):
    """The stream runs its rules on a batch only when its parser, on the executors, counted
    records outside the API's form. With the executors on the two workers, that count must
    reach the driver: garbage spread over the partitions lands in hive_bad_events."""
    garbage = [(g.replace(b"TAG", tag.encode()), reason) for g, reason in GARBAGE if b"TAG" in g]
    tagged = [g for g, _ in garbage]
    expected = Counter(reason for _, reason in garbage)
    assert len(tagged) == 4 and len(expected) == 4
    for n in range(12):  # one key each: the partitioner spreads them over the six partitions
        topic.produce(settings.TOPIC, tagged, key=f"garbage-{n}".encode())
    rows, _ = wait_for(lambda: (lambda r: r if len(r) >= 12 * len(tagged) else None)(presto_rows(
        f"select reason, kafka_partition from hive_bad_events where raw_event like '%{tag}%'")),
        LANDING_TIMEOUT, what="the garbage in hive_bad_events")
    assert Counter(r for r, _ in rows) == {r: 12 * c for r, c in expected.items()}, rows
    partitions = {p for _, p in rows}
    record_figure("cluster: garbage quarantined, per partition", Counter(p for _, p in rows))
    assert len(partitions) >= 3, partitions


def test_presto_runs_the_splits_on_its_worker(pipeline):
    nodes = presto_rows("select node_id, coordinator, state from system.runtime.nodes order by node_id")
    assert nodes == [("game-events-presto-1", True, "active"), ("game-events-presto-worker-1", False, "active")]
    marker = "splits-on-the-worker"
    n = presto_rows(f"select count(*), '{marker}' from hive_events")[0][0]
    assert n > 0
    query_id = presto_rows(f"select query_id from system.runtime.queries where query like '%''{marker}''%' "
                           "and query not like '%system.runtime%'")[0][0]
    tasks = presto_rows(f"select node_id, sum(completed_splits), sum(processed_input_rows) "
                        f"from system.runtime.tasks where query_id = '{query_id}' group by 1")
    record_figure("cluster: Presto tasks of a count(*) over hive_events (node, splits, input rows)", tasks)
    assert [t[0] for t in tasks] == ["game-events-presto-worker-1"], tasks
    assert tasks[0][1] > 0 and tasks[0][2] >= n, tasks


# The report's test of the single-node layer, on the cluster: the same seeded mix must give
# the same answers, worked out without SQL.
test_the_report_gives_the_single_nodes_answers = single_node_report_test


# Every node of the cluster that serves metrics, by the service label its target carries.
SCRAPED = {"kafka1", "kafka2", "kafka3", "namenode", "datanode1", "datanode2", "metastore", "presto", "presto-worker1",
           "spark-master", "spark-worker1", "spark-worker2", "api", "stream", "lag-exporter", "prometheus"}


def test_prometheus_scrapes_every_node_and_each_is_up(pipeline, monitoring):
    from tests.support import prometheus

    def all_up():
        up = prometheus.query("up")
        return up if {s["metric"]["service"] for s in up} == SCRAPED and all(s["value"][1] == "1" for s in up) else None
    try:
        up, _ = wait_for(all_up, 60, what="every target up")
    except AssertionError as e:
        targets = sorted((s["metric"]["service"], s["metric"]["job"], s["value"][1]) for s in prometheus.query("up"))
        raise AssertionError(f"{e}; want every one of {sorted(SCRAPED)} up, got {targets}") from None
    record_figure("cluster profile: Prometheus' targets, all up", sorted(
        (s["metric"]["service"], s["metric"]["job"]) for s in up))


def test_a_retry_in_another_partition_is_dropped(pipeline, tag):
    """The same event (one id, one content) written to each of the six partitions, as the API
    writes it: one row lands, and the stream drops the other five as duplicates."""
    from game_events import catalogue
    from tests.support.engines import caught_up, stream_progress

    wait_for(caught_up, 120, what="the stream to catch up")
    before = stream_progress()["duplicates"]
    user = f"retry-{tag}"
    event = catalogue.EVENTS["get_paid"]
    value = catalogue.encode(catalogue.record(str(uuid.uuid4()), {"Accept": "*/*", "Host": "cluster.example", "User-Agent": "test"},
                                              event.build({"user": user, "amount": "11"})))
    for partition in range(6):
        topic.produce(settings.TOPIC, [value], partition=partition)
    wait_for(caught_up, 120, what="the stream to catch up")
    assert presto_rows(f"select amount from hive_events where user = '{user}'") == [(11,)]
    assert stream_progress()["duplicates"] - before == 5


def test_a_partition_held_back_loses_nothing(pipeline, tag):
    """Partitions 1-5 run ahead; then partition 0 delivers what it held back, stamped by Kafka
    30 minutes and 3 hours before the others (lag inside the one-hour window, and beyond the
    window and its grace). Nothing is dropped for being late: every event lands once, the
    held-back retries within the window are dropped, and the old copy of an id that landed
    since lands as documented (older than its first copy by more than the window)."""
    from game_events import catalogue
    from tests.support.engines import caught_up, stream_progress

    def value(eid: str, user: str, amount: int) -> bytes:
        return catalogue.encode(catalogue.record(eid, {"Accept": "*/*", "Host": "cluster.example", "User-Agent": "test"},
                                                 catalogue.EVENTS["get_paid"].build({"user": user, "amount": str(amount)})))

    wait_for(caught_up, 120, what="the stream to catch up")
    before = stream_progress()["duplicates"]
    now_ms = int(time.time() * 1000)
    ahead = {f"a{i}-{tag}": (str(uuid.uuid4()), i) for i in range(25)}
    for n, (user, (eid, amount)) in enumerate(ahead.items()):
        topic.produce(settings.TOPIC, [value(eid, user, amount)], partition=1 + n % 5, timestamp_ms=now_ms)
    wait_for(caught_up, 120, what="the partitions ahead to land")

    lagging = {f"l{i}-{tag}": (str(uuid.uuid4()), 100 + i) for i in range(20)}    # 30 min behind
    ancient = {f"o{i}-{tag}": (str(uuid.uuid4()), 200 + i) for i in range(10)}    # 3 hours behind
    first_ahead_user, (first_ahead_id, first_ahead_amount) = next(iter(ahead.items()))
    held = []
    for user, (eid, amount) in lagging.items():  # each with its retry, a second later
        held += [(value(eid, user, amount), now_ms - 1_800_000), (value(eid, user, amount), now_ms - 1_799_000)]
    held += [(value(eid, user, amount), now_ms - 3 * 3_600_000) for user, (eid, amount) in ancient.items()]
    # A copy of an id that landed ahead, stamped 3 hours before it: older than its first copy
    # by more than the window, so it lands (README, "Retries and duplicates").
    held.append((value(first_ahead_id, first_ahead_user, first_ahead_amount), now_ms - 3 * 3_600_000))
    for v, ts in held:
        topic.produce(settings.TOPIC, [v], partition=0, timestamp_ms=ts)
    wait_for(caught_up, 120, what="the held-back partition to land")

    got = Counter(presto_rows(f"select user, amount from hive_events where user like '%-{tag}'"))
    expected = Counter({(u, a): 1 for group in (ahead, lagging, ancient) for u, (_, a) in group.items()})
    expected[(first_ahead_user, first_ahead_amount)] += 1
    assert got == expected, got - expected or expected - got
    assert stream_progress()["duplicates"] - before == len(lagging)
