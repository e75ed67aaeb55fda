"""The stack's Prometheus: its rendered config passes promtool in both profiles, its
targets are the service table's metrics endpoints, its alert rules pass their promtool
unit tests (tests/unit/prometheus/rules_test.yml), and the real server, started as the
launcher starts it, scrapes a metrics endpoint of the test's own and fires an alert."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from game_events import settings
from game_events.api import metrics as api_metrics
from game_events.stream import metrics_names
from tests.support.commands import ROOT
from tests.support.waits import wait_for
from tests.unit.test_profiles import rendered

PROMTOOL = shutil.which("promtool")
RULES_TEST = Path(__file__).resolve().parent / "prometheus" / "rules_test.yml"
TEMPLATES = ROOT / "stack" / "templates" / "prometheus"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool is missing: make install installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def targets(conf: Path) -> set[tuple[str, str, str, str]]:
    """(service, job, host:port, path) of every target group the render wrote."""
    groups = json.loads((conf / "prometheus" / "targets.json").read_text())
    return {(g["labels"]["service"], g["labels"]["job"], t, g["labels"]["__metrics_path__"])
            for g in groups for t in g["targets"]}


@pytest.mark.parametrize("profile", ["local", "cluster"])
def test_the_rendered_config_passes_promtool(tmp_path, profile):
    prom = rendered(tmp_path, profile) / "prometheus"
    res = promtool("check", "config", "prometheus.yml", cwd=prom)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 8 rules found" in res.stdout  # the rules file is the config's


# The targets of both profiles: the API, the stream's Spark driver UI and its own counters
# (STREAM_METRICS_PORT), the lag exporter and Prometheus itself; every engine's JVM's JMX
# exporter agent, by node, on its node's port (game_events/settings.py).
BOTH_PROFILES = {
    ("namenode", "namenode", "127.0.0.1:9711", "/metrics"),
    ("metastore", "metastore", "127.0.0.1:9731", "/metrics"),
    ("presto", "presto", "127.0.0.1:9741", "/metrics"),
    ("api", "api", "127.0.0.1:5000", "/metrics"),
    ("stream", "spark-driver", "127.0.0.1:4040", "/metrics/prometheus"),
    ("stream", "spark-executors", "127.0.0.1:4040", "/metrics/executors/prometheus"),
    ("stream", "stream", "127.0.0.1:9108", "/metrics"),
    ("lag-exporter", "lag-exporter", "127.0.0.1:9109", "/metrics"),
    ("prometheus", "prometheus", "127.0.0.1:9090", "/metrics"),
}


def test_the_local_profiles_targets(tmp_path):
    assert targets(rendered(tmp_path, "local")) == BOTH_PROFILES | {
        ("kafka", "kafka", "127.0.0.1:9701", "/metrics"),
        ("datanode", "datanode", "127.0.0.1:9721", "/metrics"),
    }


def test_every_cluster_node_with_a_metrics_endpoint_is_a_target(tmp_path):
    # Those of both profiles, each Kafka node, DataNode and the Presto worker, and the
    # Spark master and workers.
    assert targets(rendered(tmp_path, "cluster")) == BOTH_PROFILES | {
        ("kafka1", "kafka", "127.0.0.1:9701", "/metrics"),
        ("kafka2", "kafka", "127.0.0.1:9702", "/metrics"),
        ("kafka3", "kafka", "127.0.0.1:9703", "/metrics"),
        ("datanode1", "datanode", "127.0.0.1:9721", "/metrics"),
        ("datanode2", "datanode", "127.0.0.1:9722", "/metrics"),
        ("presto-worker1", "presto", "127.0.0.1:9742", "/metrics"),
        ("spark-master", "spark-master", "127.0.0.1:8180", "/metrics/master/prometheus"),
        ("spark-worker1", "spark-worker", "127.0.0.1:8181", "/metrics/prometheus"),
        ("spark-worker2", "spark-worker", "127.0.0.1:8182", "/metrics/prometheus"),
    }


def test_the_api_target_follows_its_metrics_port(tmp_path):
    env = {"API_METRICS_PORT": "9300", "API_METRICS_HOST": "0.0.0.0"}
    conf = rendered(tmp_path, "local", env)
    assert {t for t in targets(conf) if t[0] == "api"} == {("api", "api", "127.0.0.1:9300", "/metrics")}
    assert {t[0] for t in targets(rendered(tmp_path / "off", "local", {"API_METRICS": "0"}))} == {
        "kafka", "namenode", "datanode", "metastore", "presto", "stream", "lag-exporter", "prometheus"}


def test_the_alert_rules_pass_their_unit_tests(tmp_path):
    prom = rendered(tmp_path, "local") / "prometheus"
    shutil.copy(RULES_TEST, prom)
    # The test's samples and evaluations are as far apart as the config's.
    assert f"evaluation_interval: {settings.PROMETHEUS_INTERVAL}\n" in RULES_TEST.read_text()
    res = promtool("test", "rules", RULES_TEST.name, cwd=prom)
    assert (res.returncode, res.stdout.split()[-1:]) == (0, ["SUCCESS"]), res.stdout + res.stderr


def test_the_stream_metrics_port_follows_its_setting(tmp_path):
    stream = {t for t in targets(rendered(tmp_path, "local", {"STREAM_METRICS_PORT": "9400"})) if t[1] == "stream"}
    assert stream == {("stream", "stream", "127.0.0.1:9400", "/metrics")}
    assert {t for t in targets(rendered(tmp_path / "off", "local", {"STREAM_METRICS_PORT": "0"})) if t[1] == "stream"} \
        == set()


def test_the_rules_and_the_dashboard_query_defined_metrics():
    defined = {api_metrics.REQUESTS, api_metrics.EVENTS, api_metrics.KAFKA_ACK, api_metrics.KAFKA_QUEUE,
               *metrics_names.NAMES}
    for f in (TEMPLATES / "rules.yml", TEMPLATES / "consoles" / "game_events.html"):
        used = {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\bgame_(?:api|stream)_[a-z_]+", f.read_text())}
        assert used and used - defined == set(), f


def test_the_engines_metrics_in_the_rules_and_the_dashboard_are_the_exporters():
    """kafka_*, hdfs_* and presto_* are named by the JMX exporter's rules alone."""
    exporter = ROOT / "stack" / "templates" / "jmx-exporter" / "config.yml"
    defined = set(re.findall(r"^\s+name: ([a-z_]+)$", exporter.read_text(), re.M))
    assert {"kafka_server_replica_manager_under_replicated_partitions", "hdfs_namenode_live_datanodes"} <= defined
    for f in (TEMPLATES / "rules.yml", TEMPLATES / "consoles" / "game_events.html"):
        used = set(re.findall(r"\b(?:kafka|hdfs|presto)_[a-z_]+", f.read_text()))
        assert used and used - defined == set(), f


def test_the_datanode_alert_counts_the_profiles_datanodes(tmp_path):
    for profile, count in (("local", 1), ("cluster", 2)):
        rules = (rendered(tmp_path / profile, profile) / "prometheus" / "rules.yml").read_text()
        assert f"expr: max(hdfs_namenode_live_datanodes) < {count}\n" in rules


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(base: str, promql: str) -> list[dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())["data"]["result"]


def answered(promql: str, base: str):
    """The query's result, or None while Prometheus does not listen yet."""
    def ask():
        try:
            return query(base, promql)
        except OSError:
            return None
    return ask


@pytest.mark.timeout(150)
def test_prometheus_scrapes_the_api_target_and_fires_an_alert(tmp_path):
    # A throwaway /metrics in this process, in the API's place (API_METRICS_PORT).
    registry = CollectorRegistry()
    unavailable = Counter(api_metrics.REQUESTS, "requests", ["route", "status"], registry=registry).labels(
        "/purchase_a_sword", "503")
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    port = free_port()
    env = {**os.environ, "STACK_PROFILE": "local", "STACK_DATA": str(tmp_path), "PROMETHEUS_PORT": str(port),
           "API_METRICS_PORT": str(server.server_port), "API_METRICS_HOST": "127.0.0.1",
           # An address where nothing listens: no scrape reaches a stream that may be running here.
           "SPARK_DRIVER_HOST": "127.0.0.3", "LAG_EXPORTER_PORT": str(free_port()),
           # Scrapes and evaluations every second: the same rules, seconds instead of half a minute.
           "PROMETHEUS_INTERVAL": "1s"}
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "prometheus.out").open("w")
    # The launcher's own foreground run: it renders, starts the row's command and waits for its probe.
    proc = subprocess.Popen([sys.executable, "-m", "stack", "run", "prometheus"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(answered('up{job="api"} == 1', base), 60, what="the API target to be up")
        unavailable.inc()  # the next scrape sees the counter move: a 503
        (alert,), _ = wait_for(answered('ALERTS{alertstate="firing", alertname="ApiUnavailable"}', base), 60,
                               what="ApiUnavailable to fire")
        assert alert["metric"]["severity"] == "critical"
        with urllib.request.urlopen(f"{base}/consoles/game_events.html", timeout=10) as resp:
            page = resp.read().decode()
        assert resp.status == 200 and "<h1>Game events</h1>" in page and "PromConsole.Graph" in page
        assert 'class="prom_query_drilldown"' in page  # prom.lib's templates ran
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the supervisor stops Prometheus, then itself
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        server.shutdown()
        log.close()
    assert not subprocess.run(["pgrep", "-f", f"web.listen-address=127.0.0.1:{port}"], capture_output=True).stdout
