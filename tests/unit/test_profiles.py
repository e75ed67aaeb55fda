"""The two profiles' config files, as `python -m stack render` writes them: one node per
engine, or a file per node of the cluster, from the same templates; and which profile a
command acts on."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from game_events import settings
from stack import processes, profile
from tests.support.children import SLEEPER, stop
from tests.support.commands import BIN, ROOT


def rendered(tmp_path: Path, profile: str, env: dict[str, str] | None = None) -> Path:
    subprocess.run([sys.executable, "-m", "stack", "render"], cwd=ROOT, check=True, timeout=60,
                   env={**os.environ, "STACK_PROFILE": profile, "STACK_DATA": str(tmp_path), **(env or {})})
    return tmp_path / "conf"


def properties(path: Path) -> dict[str, str]:
    return dict(ln.split("=", 1) for ln in path.read_text().splitlines() if ln and not ln.startswith("#"))


def test_every_placeholder_is_filled(tmp_path):
    for profile in ("local", "cluster"):
        conf = rendered(tmp_path / profile, profile)
        for f in conf.rglob("*"):
            assert not f.is_file() or "${" not in f.read_text(), f


def test_the_local_profile_has_one_node_per_engine(tmp_path):
    conf = rendered(tmp_path, "local")
    assert sorted(p.name for p in conf.iterdir()) == [
        "hadoop", "hive", "jmx-exporter", "kafka", "presto", "prometheus", "spark"]
    kafka = properties(conf / "kafka" / "server.properties")
    assert (kafka["node.id"], kafka["controller.quorum.bootstrap.servers"]) == ("1", "127.0.0.1:29093")
    assert "controller.quorum.voters" not in kafka
    assert (kafka["min.insync.replicas"], kafka["offsets.topic.replication.factor"]) == ("1", "1")
    presto = properties(conf / "presto" / "config.properties")
    assert (presto["coordinator"], presto["node-scheduler.include-coordinator"]) == ("true", "true")
    assert presto["discovery-server.enabled"] == "true"
    assert "<name>dfs.replication</name><value>1</value>" in (conf / "hadoop" / "hdfs-site.xml").read_text()


def test_the_cluster_profile_has_a_config_per_node(tmp_path):
    conf = rendered(tmp_path, "cluster")
    kafka = [properties(conf / f"kafka{n}" / "server.properties") for n in (1, 2, 3)]
    assert [k["node.id"] for k in kafka] == ["1", "2", "3"]
    assert [k["listeners"] for k in kafka] == [
        f"PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{p + 1}" for p in (29092, 29094, 29096)]
    assert {k["controller.quorum.voters"] for k in kafka} == {"1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"}
    assert {(k["min.insync.replicas"], k["default.replication.factor"], k["num.partitions"]) for k in kafka} == {
        ("2", "3", "6")}
    assert len({k["log.dirs"] for k in kafka}) == 3
    worker = properties(conf / "presto-worker1" / "config.properties")
    assert (worker["coordinator"], worker["http-server.http.port"]) == ("false", "8085")
    assert "discovery-server.enabled" not in worker  # a worker refuses to start with it
    coordinator = properties(conf / "presto" / "config.properties")
    assert (coordinator["node-scheduler.include-coordinator"], coordinator["discovery.uri"]) == (
        "false", "http://127.0.0.1:8080")
    assert "spark://127.0.0.1:7077" in (conf / "spark" / "spark-defaults.conf").read_text()
    assert "<name>dfs.replication</name><value>2</value>" in (conf / "hadoop" / "hdfs-site.xml").read_text()


def test_a_command_without_a_profile_acts_on_the_running_one(tmp_path, monkeypatch):
    monkeypatch.setattr(profile, "ACTIVE_FILE", tmp_path / "active-profile")
    monkeypatch.setenv("STACK_PROFILE", "")
    profile.choose()
    assert os.environ["STACK_PROFILE"] == ""  # none running: settings' default, local
    profile.ACTIVE_FILE.write_text("cluster")
    profile.choose()
    assert os.environ["STACK_PROFILE"] == "cluster"
    monkeypatch.setenv("STACK_PROFILE", "local")
    profile.choose()
    assert os.environ["STACK_PROFILE"] == "local"  # the caller's word goes


def test_an_unknown_profile_is_one_plain_line():
    res = subprocess.run([sys.executable, "-m", "stack", "status"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "STACK_PROFILE": "clustre"})
    assert (res.returncode, res.stderr) == (1, "error: STACK_PROFILE='clustre'; it is one of: local, cluster\n")


def test_the_bin_wrappers_pass_the_profile_on():
    # A wrapper's settings are its profile's, and so are those of the Python it starts.
    out = subprocess.run(["bash", "-c", f". {BIN / '_env.sh'}; echo $STACK_PROFILE $KAFKA_BOOTSTRAP"], cwd="/",
                         capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ, "STACK_PROFILE": "cluster"}).stdout
    assert out.split() == ["cluster", "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"]


def test_the_cluster_topic_prefers_each_broker_for_two_partitions():
    from game_events import topic

    replicas = topic.assignment([1, 2, 3], 6, 3)
    assert len(replicas) == 6 and all(sorted(r) == [1, 2, 3] for r in replicas), replicas
    assert sorted(r[0] for r in replicas) == [1, 1, 2, 2, 3, 3], replicas
    assert topic.assignment([1], 1, 1) == [[1]]


def test_a_replication_factor_over_the_brokers_is_refused():
    import pytest

    from game_events import topic

    with pytest.raises(ValueError, match="replication factor 3 is more than the 2 brokers"):
        topic.assignment([1, 2], 6, 3)


PORTS_OF = "import json; from game_events import settings; print(json.dumps({v: p for p, v in settings.PORT_VARS.items()}))"


def ports(profile: str, env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run([sys.executable, "-c", PORTS_OF], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True, env={**os.environ, "STACK_PROFILE": profile, **env}).stdout
    return json.loads(out)


def test_a_port_offset_moves_every_default_port_and_a_port_set_by_hand_stays(tmp_path):
    for profile in ("local", "cluster"):
        base = ports(profile, {"STACK_PORT_OFFSET": "0"})
        moved = ports(profile, {"STACK_PORT_OFFSET": "1000", "PRESTO_PORT": "18080"})
        assert moved == {**{var: port + 1000 for var, port in base.items()}, "PRESTO_PORT": 18080}
    conf = rendered(tmp_path, "local", {"STACK_PORT_OFFSET": "1000"})
    assert properties(conf / "kafka" / "server.properties")["listeners"].startswith("PLAINTEXT://127.0.0.1:30092,")
    assert re.search(r"^spark\.ui\.port +5040$", (conf / "spark" / "spark-defaults.conf").read_text(), re.M)


@pytest.fixture()
def two_profiles(tmp_path, monkeypatch):
    """This process as the local profile, with a cluster whose Kafka node runs (a sleeper
    that carries the launcher's mark) under tmp_path."""
    data = {"local": tmp_path / "var", "cluster": tmp_path / "var-cluster"}
    monkeypatch.setattr(settings, "PROFILE_DATA", data)
    monkeypatch.setattr(settings, "DATA", data["local"])
    run = data["cluster"] / "run"
    run.mkdir(parents=True)
    proc = subprocess.Popen(SLEEPER, env={**os.environ, "GAME_EVENTS_SERVICE": "kafka1"})
    (run / "kafka1.pid").write_text(str(proc.pid))
    try:
        yield run
    finally:
        stop(proc)


def test_the_other_profile_is_refused_only_where_it_holds_our_ports(two_profiles):
    ours = sorted(settings.PORT_VARS)
    assert processes.other_profile_running() == "cluster"  # started before ports were recorded
    (two_profiles / "ports").write_text(" ".join(str(p + 1000) for p in ours))
    assert processes.other_profile_running() is None  # STACK_PORT_OFFSET=1000
    (two_profiles / "ports").write_text(f"{ours[0] + 1000} {ours[-1]}")
    assert processes.other_profile_running() == "cluster"


UP_WITHOUT_STARTING = "from stack import cli, processes; processes.start_all = lambda *a: None; cli.up(['api'])"


def test_up_records_the_ports_it_uses(tmp_path):
    # Everything of `up` but the processes: the check, the render, the record.
    subprocess.run([sys.executable, "-c", UP_WITHOUT_STARTING], cwd=ROOT, check=True, timeout=60, capture_output=True,
                   env={**os.environ, "STACK_PROFILE": "local", "STACK_DATA": str(tmp_path), "STACK_PORT_OFFSET": "1000"})
    recorded = set(map(int, (tmp_path / "run" / "ports").read_text().split()))
    # Kafka's, the API's, the stream's UI and metrics, Presto's: the defaults plus 1000, by hand.
    assert {30092, 6000, 5040, 10108, 9080} <= recorded and 29092 not in recorded, sorted(recorded)
