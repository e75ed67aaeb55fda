"""The launcher's side-by-side start (stack.processes.start_all) with throwaway programs
in place of the engines: a service starts only once what it needs is ready, the rest
start at once, and the first failure is the one reported. Also the Kafka cluster id the
launcher makes without a JVM."""
from __future__ import annotations

import base64
import dataclasses
import re
import socket
import sys
import time

import pytest

from game_events import settings
from stack import StackError, processes
from stack.commands import kafka_uuid
from stack.services import SERVICES, Service, needs
from tests.support.children import SLEEPER


@pytest.fixture()
def run_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "RUN", tmp_path / "run")
    monkeypatch.setattr(settings, "LOGS", tmp_path / "logs")
    started: list[Service] = []
    yield started
    for svc in started:
        processes.stop(svc, timeout=5)


def fake(name: str, ready_after: float, started_at: dict, *, needs=(), command=SLEEPER) -> Service:
    """A service that is ready `ready_after` seconds after its start; `started_at` gets
    the monotonic time of its start."""
    def first_run():
        started_at[name] = time.monotonic()

    return Service(f"test-{name}", lambda: command, lambda: time.monotonic() - started_at[name] >= ready_after,
                   timeout=20, port=0, owns_port=False, first_run=first_run, needs=needs)


def test_a_service_waits_for_what_it_needs_and_the_others_start_at_once(run_dirs):
    at: dict[str, float] = {}
    a, b = fake("a", 1.0, at), fake("b", 1.0, at)
    c = fake("c", 0.0, at, needs=("test-a", "test-b"))
    run_dirs += [a, b, c]
    processes.start_all([a, b, c], needs([a, b, c]))
    # a and b side by side (one second each, not two), c after both were ready.
    assert abs(at["a"] - at["b"]) < 0.5, at
    assert at["c"] - max(at["a"], at["b"]) >= 1.0, at
    assert all(processes.running_pid(s) for s in (a, b, c))


def test_the_first_failure_is_reported_and_what_needs_it_never_starts(run_dirs):
    at: dict[str, float] = {}
    dies = fake("dies", 0.0, at, command=[sys.executable, "-c", "raise SystemExit(3)"])
    dies = Service(dies.name, dies.command, lambda: False, 20, 0, owns_port=False, first_run=dies.first_run)
    slow = fake("slow", 60.0, at)  # would be ready in a minute: abandoned instead
    after = fake("after", 0.0, at, needs=("test-dies",))
    run_dirs += [dies, slow, after]
    t0 = time.monotonic()
    with pytest.raises(StackError, match=r"^test-dies exited during start-up"):
        processes.start_all([dies, slow, after], needs([dies, slow, after]))
    assert time.monotonic() - t0 < 10
    assert "after" not in at


def test_a_taken_agent_port_is_one_clear_line_and_nothing_starts(run_dirs, monkeypatch):
    # An engine's JVM cannot start while its JMX exporter agent's port is taken: the
    # launcher says so before it starts anything, as for the service's own port.
    at: dict[str, float] = {}
    with socket.socket() as held:
        held.bind((settings.BIND_HOST, 0))
        held.listen()
        port = held.getsockname()[1]
        monkeypatch.setitem(settings.PORT_VARS, port, "TEST_JMX_PORT")
        svc = dataclasses.replace(fake("jvm", 0.0, at), agent_port=port)
        run_dirs.append(svc)
        with pytest.raises(StackError) as err:
            processes.start(svc)
    assert str(err.value) == (f"port {port} (TEST_JMX_PORT) for test-jvm is already in use by another process; "
                              "stop it or set TEST_JMX_PORT to a free port")
    assert at == {} and processes.running_pid(svc) is None


def test_needs_name_services_of_the_same_up_only():
    by_name = needs(SERVICES)
    assert by_name["datanode" if "datanode" in by_name else "datanode1"] == ["namenode"]
    assert by_name["kafka1" if "kafka1" in by_name else "kafka"] == []
    assert set(by_name["stream"]) >= {"namenode", "metastore"} and "presto" not in by_name["stream"]
    api_and_stream = [s for s in SERVICES if s.name in ("api", "stream")]
    assert needs(api_and_stream) == {"api": [], "stream": []}


def test_the_kafka_cluster_id_is_what_kafka_storage_random_uuid_prints():
    for _ in range(200):
        u = kafka_uuid()
        # 16 bytes in URL-safe base64 without padding: 22 characters, never a leading dash.
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", u) and not u.startswith("-"), u
        assert len(base64.urlsafe_b64decode(u + "==")) == 16
