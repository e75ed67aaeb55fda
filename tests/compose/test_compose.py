"""docker-compose.yml, really run: Debian's docker-compose over podman's Docker API, on
an image built from a debootstrapped Debian base. The seed's walkthrough, scripted."""
from __future__ import annotations

import os
import re
import subprocess
from collections import Counter

import pytest
import requests

from tests.support.children import stop
from tests.support.commands import ROOT
from tests.support.data import seed_describe_table, sent_by_generate_events
from tests.support.waits import wait_for

# Building the image from scratch takes most of an hour; the fixture's steps are bounded
# one by one, and the walkthrough itself by this.
pytestmark = pytest.mark.timeout(1800, func_only=True)
PROJECT = "gecompose-test"
APP = "/w205/game-events"
# The local stack's Prometheus may hold 127.0.0.1:9090 while the tests run.
PROMETHEUS_PUBLISH = "127.0.0.1:19090"


def sh(*argv, env=None, timeout=900, check=True, input=None) -> subprocess.CompletedProcess:
    res = subprocess.run(list(map(str, argv)), cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout, input=input)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {res.returncode}:\n{res.stdout[-3000:]}\n"
                             f"{res.stderr[-3000:]}")
    return res


@pytest.fixture(scope="module")
def compose_env():
    docker_host = sh("bash", "compose/podman.sh").stdout.strip().splitlines()[-1]
    env = {**os.environ, "DOCKER_HOST": docker_host, "COMPOSE_PROJECT_NAME": PROJECT,
           # The local stack's API may hold 127.0.0.1:5000 while the tests run.
           "API_PUBLISH": "127.0.0.1:15000", "PROMETHEUS_PUBLISH": PROMETHEUS_PUBLISH}
    sh("bash", "compose/build.sh", env=env, timeout=3600)
    ticker = subprocess.Popen(["bash", "compose/health-ticker.sh", PROJECT], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        sh("docker-compose", "up", "-d", env=env, timeout=900)
        yield env
    finally:
        try:
            # With the profile: a plain `down` leaves the monitoring profile's container.
            sh("docker-compose", "--profile", "monitoring", "down", "-v", "--remove-orphans", env=env, check=False,
               timeout=300)
        finally:
            stop(ticker, group=True)  # the ticker's loop and its sleep, even if `down` timed out


def dc(env, *args, **kw):
    return sh("docker-compose", *args, env=env, **kw)


def healthy(env, service: str) -> bool:
    return dc(env, "exec", "-T", service, "/opt/venv/bin/python", "-m", "stack", "check", service,
              check=False, timeout=60).returncode == 0


def test_seed_walkthrough_on_compose(compose_env):
    env = compose_env
    wait_for(lambda: healthy(env, "presto"), 300, interval=3, what="presto in compose")
    # Its probe resolves kafka:29092 as the walkthrough does: the network's DNS has once
    # answered late, right after the image was rebuilt.
    wait_for(lambda: healthy(env, "kafka"), 120, interval=3, what="kafka in compose, by its name")

    out = dc(env, "exec", "-T", "kafka", "kafka-topics", "--create", "--topic", "events", "--partitions", "1",
             "--replication-factor", "1", "--if-not-exists", "--bootstrap-server", "kafka:29092").stdout
    topics = dc(env, "exec", "-T", "kafka", "kafka-topics", "--list", "--bootstrap-server", "kafka:29092").stdout
    assert "events" in topics.split(), out + topics

    dc(env, "exec", "-d", "mids", "env", f"FLASK_APP={APP}/game_api.py", "flask", "run", "--host", "0.0.0.0")
    wait_for(lambda: dc(env, "exec", "-T", "mids", "curl", "-fsS", "http://localhost:5000/health",
                        check=False).returncode == 0, 60, what="the API in mids")

    tables = dc(env, "exec", "-T", "spark", "spark-submit", f"{APP}/write_hive_table.py").stdout
    assert "table hive_events at hdfs://cloudera:8020/tmp/game_events" in tables
    dc(env, "exec", "-d", "spark", "spark-submit", "--conf", "spark.sql.parquet.writeLegacyFormat=true",
       f"{APP}/write_event_stream.py")

    sent_out = sh("bash", "generate_events.sh", env={**env, "VIA": "compose"}).stdout
    expected = Counter()
    for event_type, _, _, n in sent_by_generate_events(sent_out):
        if event_type != "default":
            expected[event_type] += n
    assert sum(expected.values()) > 0

    seen = dc(env, "exec", "-T", "mids", "kafkacat", "-C", "-b", "kafka:29092", "-t", "events", "-o", "beginning",
              "-e", "-q", timeout=60).stdout
    assert seen.count('"event_type":"purchase_sword"') == expected["purchase_sword"]
    # Each event starts with the id the API gave it (ab's identical requests: one each).
    events = [ln for ln in seen.splitlines() if '"event_type":' in ln]
    ids = [m[1] if m else None for m in (re.match(r'\{"event_id":"([0-9a-f-]{36})",', ln) for ln in events)]
    assert None not in ids and len(set(ids)) == len(ids), events[:3]

    presto = ["exec", "-T", "presto", "presto", "--server", "presto:8080", "--catalog", "hive", "--schema", "default",
              "--execute"]

    def counts():
        out = dc(env, *presto, "select event_type, count(*) from hive_events group by 1", check=False).stdout
        got = {m[1]: int(m[2]) for m in re.finditer(r'"(\w+)","(\d+)"', out)}
        return got if got == dict(expected) else None

    wait_for(counts, 180, interval=3, what=f"Presto counts {dict(expected)} in compose")
    listing = dc(env, "exec", "-T", "cloudera", "hadoop", "fs", "-ls", "/tmp/game_events/").stdout
    assert re.search(r"/tmp/game_events/batch-\d+\.parquet", listing), listing
    describe = dc(env, *presto, "describe hive_events").stdout
    assert [tuple(r.split('","')[:2]) for r in (ln.strip('"') for ln in describe.splitlines())] == \
        seed_describe_table()

    # The monitoring profile (Prometheus and the lag exporter) beside the seed's services:
    # it scrapes the API in mids, the stream's driver in spark and every engine's agent by
    # their compose names, counts every event generate_events.sh sent, and sees no lag.
    dc(env, "--profile", "monitoring", "up", "-d", "prometheus", "lag-exporter")
    wait_for(lambda: healthy(env, "prometheus"), 120, interval=3, what="prometheus in compose")

    def query(promql: str) -> list[dict]:
        return requests.get(f"http://{PROMETHEUS_PUBLISH}/api/v1/query", params={"query": promql},
                            timeout=10).json()["data"]["result"]

    jobs = {"api", "stream", "spark-driver", "spark-executors", "lag-exporter", "kafka", "namenode", "datanode",
            "metastore", "presto", "prometheus"}
    seen: list = []

    def every_target_up() -> bool:
        seen[:] = [{s["metric"]["job"]: s["value"][1] for s in query("min by (job) (up)")}]
        return seen[0] == dict.fromkeys(jobs, "1")
    try:
        wait_for(every_target_up, 120, interval=3, what=f"Prometheus in compose to scrape {sorted(jobs)}, all up")
    except AssertionError as e:
        raise AssertionError(f"{e}; up by job: {seen}") from None
    sent = sum(n for *_, n in sent_by_generate_events(sent_out))
    assert query('sum(game_api_events_total{outcome="accepted"})')[0]["value"][1] == str(sent)
    landed = query("sum(game_stream_rows_landed_total)")
    assert landed and landed[0]["value"][1] == str(sum(expected.values())), landed
    wait_for(lambda: [s["value"][1] for s in query("sum(game_stream_kafka_lag_records)")] == ["0"], 30,
             what="a lag of 0 in compose's Prometheus")
