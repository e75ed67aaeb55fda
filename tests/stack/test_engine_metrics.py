"""The engines' own metrics on the running stack, through the JMX exporter agent each JVM
loads and as Prometheus scraped them: every engine's target is up, Kafka has one active
controller and no under-replicated partition, the NameNode's live DataNodes and remaining
capacity are what its own JMX servlet says, and a failed Presto query moves Presto's
counter by one."""
from __future__ import annotations

import json

import pytest
from pyhive.exc import DatabaseError

from game_events import settings
from stack import probes
from tests.support import prometheus
from tests.support.engines import presto_rows
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)
ENGINES = {"kafka", "namenode", "datanode", "metastore", "presto"}


def test_every_engine_is_scraped_and_its_metrics_match_the_engine(pipeline, monitoring):
    def engines_up():
        up = prometheus.by_label(f'min by (job) (up{{job=~"{"|".join(ENGINES)}"}})', "job")
        return up if up == {job: 1.0 for job in ENGINES} else None
    wait_for(engines_up, 60, what=f"Prometheus to scrape every engine's agent: {sorted(ENGINES)}")
    assert prometheus.value("sum(kafka_controller_active_controllers)") == 1
    assert prometheus.value("sum(kafka_server_replica_manager_under_replicated_partitions)") == 0

    # The NameNode's own view (its JMX servlet on the web port, not the agent).
    state = probes.jmx(settings.WEBHDFS, "service=NameNode,name=FSNamesystemState")[0]
    live = len(json.loads(probes.jmx(settings.WEBHDFS, "service=NameNode,name=NameNodeInfo")[0]["LiveNodes"]))
    assert live == len(settings.DATANODES)
    assert prometheus.value("max(hdfs_namenode_live_datanodes)") == state["NumLiveDataNodes"] == live
    # The free space moves as blocks are written: the same within 1%.
    remaining = prometheus.value("max(hdfs_namenode_capacity_remaining_bytes)")
    assert remaining and abs(remaining - state["CapacityRemaining"]) < 0.01 * state["CapacityRemaining"]

    failed = "sum(presto_failed_queries_total)"
    wait_for(lambda: prometheus.value(failed) is not None, 30, what="Presto's failed-query counter")
    before = prometheus.value(failed)
    # One that fails while it runs: Presto counts no query refused by its analyzer (a
    # misspelt column) among FailedQueries.
    with pytest.raises(DatabaseError, match="DIVISION_BY_ZERO"):
        presto_rows("select 1 / 0")
    wait_for(lambda: prometheus.value(failed) == before + 1, 30, what=f"Presto's failed queries to go {before} -> +1")
