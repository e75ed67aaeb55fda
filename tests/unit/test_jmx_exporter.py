"""The Prometheus JMX exporter's agent, as the launcher loads it into every engine's JVM
(stack.commands.jmx_agent, with the rendered stack/templates/jmx-exporter/config.yml),
in a tiny JVM of the test's own (tests/unit/jmx/Beans.java): the agent starts with the
config, serves the JVM's metrics, and turns MBeans named as the engines name theirs into
the metrics the alert rules query. No engine runs here: that the engines register these
MBeans is for the stack's tests."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from game_events import settings
from stack import commands
from tests.support.commands import ROOT
from tests.support.waits import wait_for
from tests.unit.test_profiles import rendered
from tests.unit.test_prometheus import free_port

BEANS = Path(__file__).resolve().parent / "jmx" / "Beans.java"

# The MBeans the exporter's rules pick, named and typed as Kafka 4.1, HDFS 3.4 and
# Presto 0.287 register them, with a value each, and one attribute no rule matches.
ENGINE_BEANS = [
    "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions|Value=2",
    "kafka.controller:type=KafkaController,name=ActiveControllerCount|Value=1",
    "Hadoop:service=NameNode,name=FSNamesystemState|NumLiveDataNodes=2|NumDeadDataNodes=1"
    "|CapacityRemaining=123456789|NumStaleDataNodes=5",
    "com.facebook.presto.execution:name=QueryManager|RunningQueries=3|FailedQueries.TotalCount=7"
    "|FailedQueries.OneMinute.Count=1",
    # Not in includeObjectNames: never read.
    "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec|Count=99",
]
ENGINE_SAMPLES = {
    "kafka_server_replica_manager_under_replicated_partitions": 2.0,
    "kafka_controller_active_controllers": 1.0,
    "hdfs_namenode_live_datanodes": 2.0,
    "hdfs_namenode_dead_datanodes": 1.0,
    "hdfs_namenode_capacity_remaining_bytes": 123456789.0,
    "presto_running_queries": 3.0,
    "presto_failed_queries_total": 7.0,
}


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classes")
    subprocess.run([commands.java("javac"), "--release", "17", "-d", out, BEANS], check=True, timeout=60)
    return out


def launcher_agent(data: Path, port: int) -> str:
    """The launcher's -javaagent option for a node on `port`, for a stack whose data folder
    (and so rendered config) is `data`, bound to loopback."""
    code = f"from stack import commands; print(commands.jmx_agent({port}))"
    env = {**os.environ, "STACK_PROFILE": "local", "STACK_DATA": str(data), "BIND_HOST": "127.0.0.1"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def samples(text: str) -> dict[str, float]:
    """Prometheus' text format, as {name{labels}: value}."""
    return {m[0]: float(m[1]) for m in re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$", text, re.M)}


def scrape(proc: subprocess.Popen, port: int):
    """/metrics' text, or None while the agent does not answer yet; the JVM exiting fails."""
    def ask():
        assert proc.poll() is None, f"the JVM exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return None
    return ask


def run_jvm(agent: str, classes: Path, tmp_path: Path, *beans: str) -> subprocess.Popen:
    log = (tmp_path / "jvm.out").open("w")
    return subprocess.Popen([commands.java(), agent, "-cp", str(classes), "Beans", *beans], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(30)


def test_the_launchers_agent_serves_the_jvms_metrics_and_no_engine_bean(tmp_path, classes):
    rendered(tmp_path, "local")
    port = free_port()
    agent = launcher_agent(tmp_path, port)
    assert agent == (f"-javaagent:{settings.JMX_AGENT}=127.0.0.1:{port}:"
                     f"{tmp_path / 'conf' / 'jmx-exporter' / 'config.yml'}")
    proc = run_jvm(agent, classes, tmp_path)
    try:
        text, _ = wait_for(scrape(proc, port), 60, 0.2, what="the agent's /metrics")
    finally:
        stop(proc)
    got = samples(text)
    for name in ("jvm_memory_used_bytes{area=\"heap\"}", "jvm_threads_current", "process_cpu_seconds_total",
                 "jvm_classes_currently_loaded"):
        assert got.get(name, 0) > 0, name
    assert any(n.startswith("jvm_gc_collection_seconds_count") for n in got)
    assert got["jmx_scrape_error"] == 0
    assert got['jmx_exporter_build_info{name="jmx_prometheus_javaagent",version="1.0.1"}'] == 1
    assert not [n for n in got if n.startswith(("kafka_", "hdfs_", "presto_"))]


def test_the_rules_turn_the_engines_mbeans_into_the_alerts_metrics(tmp_path, classes):
    rendered(tmp_path, "local")
    port = free_port()
    proc = run_jvm(launcher_agent(tmp_path, port), classes, tmp_path, *ENGINE_BEANS)
    try:
        # The beans are registered after the agent starts: wait until a scrape has them.
        ask = scrape(proc, port)
        text, _ = wait_for(lambda: (t := ask()) and "presto_running_queries" in t and t, 60, 0.2,
                           what="the engines' metrics")
    finally:
        stop(proc)
    got = samples(text)
    engines = {n: v for n, v in got.items() if n.startswith(("kafka_", "hdfs_", "presto_"))}
    assert engines == ENGINE_SAMPLES
    assert "# TYPE presto_failed_queries_total counter" in text
    assert "# TYPE kafka_server_replica_manager_under_replicated_partitions gauge" in text
    assert got["jmx_scrape_error"] == 0


@pytest.mark.parametrize("config", ["rules: [\n", "rules:\n  - pattern: 'kafka.server<(unclosed'\n"])
def test_the_agent_refuses_a_bad_config_and_the_jvm_does_not_start(tmp_path, classes, config):
    bad = tmp_path / "bad.yml"
    bad.write_text(config)
    agent = f"-javaagent:{settings.JMX_AGENT}=127.0.0.1:{free_port()}:{bad}"
    res = subprocess.run([commands.java(), agent, "-cp", str(classes), "Beans"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode != 0 and "Failed to start Prometheus JMX Exporter" in res.stdout + res.stderr, \
        shlex.join(res.args)


@pytest.mark.parametrize("profile", ["local", "cluster"])
def test_each_engine_jvm_loads_the_agent_on_its_own_port(tmp_path, profile):
    code = """
from game_events import settings
from stack import commands, services
for svc in services.SERVICES:
    if svc.name.startswith(("kafka", "namenode", "datanode", "metastore", "presto")):
        agent = [a for a in svc.command() if a.startswith("-javaagent:")]
        print(svc.name, *agent, *(f"{m.job}@{m.port}" for m in svc.metrics))
"""
    rendered(tmp_path, profile)  # Presto's command reads its rendered jvm.config
    env = {**os.environ, "STACK_PROFILE": profile, "STACK_DATA": str(tmp_path), "BIND_HOST": "127.0.0.1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    rows = [ln.split() for ln in out.splitlines()]
    names = {"local": ["kafka", "namenode", "datanode", "metastore", "presto"],
             "cluster": ["kafka1", "kafka2", "kafka3", "namenode", "datanode1", "datanode2", "metastore", "presto",
                         "presto-worker1"]}[profile]
    assert [r[0] for r in rows] == names
    ports = set()
    for name, agent, target in rows:
        port = int(target.split("@")[1])
        assert agent.startswith(f"-javaagent:{settings.JMX_AGENT}=127.0.0.1:{port}:"), (name, agent)
        assert agent.endswith(f":{tmp_path / 'conf' / 'jmx-exporter' / 'config.yml'}"), (name, agent)
        assert 9700 <= port < 9800
        ports.add(port)
    assert len(ports) == len(rows)  # a port of its own per node
