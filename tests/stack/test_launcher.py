"""The launcher (`python -m stack`) and its Make targets on the real local stack: status,
idempotent start-up, one clear line for a taken port, every service on loopback only, the
other profile refused while this one runs, a port from the environment, and `make logs`,
`make down` and `make reset`."""
import ipaddress
import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from game_events import settings
from stack import processes, services
from tests.support.commands import ROOT, launcher, make
from tests.support.services import pid_of
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)


def status_table() -> dict[str, str]:
    out = make("status", check=False, timeout=120).stdout
    return {cols[0]: cols[3] for cols in (ln.split() for ln in out.splitlines()[1:]) if len(cols) >= 4}


def test_status_reports_healthy_and_killed(infra):
    table = status_table()
    for name in services.GROUPS["infra"]:
        assert table[name] == "healthy", table
    os.kill(pid_of("datanode"), signal.SIGKILL)
    wait_for(lambda: status_table()["datanode"] == "down", 20, what="datanode reported down")
    launcher("up", "datanode")  # a stale pid file must not stop a restart
    assert status_table()["datanode"] == "healthy"


def test_up_twice_is_harmless(infra):
    before = {name: pid_of(name) for name in services.GROUPS["infra"]}
    out = launcher("up", "infra").stdout
    assert "started" not in out
    assert {name: pid_of(name) for name in services.GROUPS["infra"]} == before


def test_port_in_use_is_one_clear_line(infra):
    env = {**os.environ, "STACK_DATA": str(ROOT / "var" / "other-stack")}
    res = subprocess.run([sys.executable, "-m", "stack", "up", "kafka"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stderr.strip() == (f"error: port {settings.KAFKA_PORT} (KAFKA_PORT) for kafka is already in "
                                  "use by another process; stop it or set KAFKA_PORT to a free port")


def gone_ok(read, path: str, default):
    """read(path), or default when the path vanished meanwhile; any other error raises."""
    try:
        return read(path)
    except (FileNotFoundError, ProcessLookupError):
        return default


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by pid or its children."""
    inodes, todo = set(), [pid]
    while todo:
        p = todo.pop()
        # Only what vanished while being read is skipped (an fd closed, a thread or a child
        # gone): each on its own, so one such race never hides the rest of the tree.
        for fd in gone_ok(os.listdir, f"/proc/{p}/fd", default=[]):
            target = gone_ok(os.readlink, f"/proc/{p}/fd/{fd}", default="")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for task in gone_ok(os.listdir, f"/proc/{p}/task", default=[]):
            todo += [int(c) for c in gone_ok(lambda f: open(f).read(), f"/proc/{p}/task/{task}/children",
                                             default="").split()]
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                hexaddr, port = f[1].split(":")
                raw = bytes.fromhex(hexaddr)
                # /proc stores each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                addr = ipaddress.ip_address(raw)
                if getattr(addr, "ipv4_mapped", None):
                    addr = addr.ipv4_mapped
                out.add((str(addr), int(port, 16)))
    return out


# Listeners that PrestoDB 0.287 opens with no setting for their address: an RMI export of
# airlift's JMX agent and the Drift (Thrift) server for internal task communication.
UNBINDABLE = {"presto": 2}


def test_every_service_listens_on_loopback_only(pipeline):
    launcher("up", "all")  # Prometheus and the lag exporter too, which `pipeline` leaves out
    for svc in services.SERVICES:
        pid = pid_of(svc.name)
        assert pid, f"{svc.name} is not running"
        sockets = listening_sockets(pid)
        assert sockets, f"{svc.name} listens nowhere"
        if svc.owns_port:
            assert ("127.0.0.1", svc.port) in sockets, (svc.name, sockets)
        public = {s for s in sockets if not s[0].startswith("127.")}
        assert len(public) <= UNBINDABLE.get(svc.name, 0), (svc.name, public)
    launcher("down", "prometheus", "lag-exporter")  # their scrapes would load the tests after


def test_the_other_profile_refuses_to_start_while_this_one_runs(infra):
    before = {name: pid_of(name) for name in services.GROUPS["infra"]}
    # `make test` may run the cluster's own tests meanwhile, on ports of their own
    # (STACK_PORT_OFFSET): the refused `up` must start nothing beside them.
    cluster_pids = lambda: {p.name: p.read_text() for p in (settings.PROFILE_DATA["cluster"] / "run").glob("*.pid")}
    cluster_before = cluster_pids()
    res = make("up", "PROFILE=cluster", check=False, env={**os.environ, "STACK_PORT_OFFSET": "0"})
    assert res.returncode != 0
    assert ("error: the local profile is running and holds the same ports; stop it first: make down PROFILE=local"
            in res.stderr.splitlines()), res.stderr
    assert cluster_pids() == cluster_before  # nothing of it started
    assert {name: pid_of(name) for name in services.GROUPS["infra"]} == before


def alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_second_api_on_a_port_from_the_environment_then_make_logs_down_and_reset(pipeline, tmp_path):
    """An API of its own (its data under STACK_DATA, its port from API_PORT) beside the
    running stack: it listens where the environment says, `make status` and `make logs`
    show it, `make down` stops it and `make reset` stops it and wipes its data, and the
    running stack is left alone throughout."""
    port, data = free_port(), tmp_path / "other-stack"
    env = {**os.environ, "STACK_DATA": str(data), "API_PORT": str(port)}
    stack_pids = {svc.name: pid_of(svc.name) for svc in services.SERVICES}
    api = services.BY_NAME["api"]
    own_pid = lambda: int((data / "run" / "api.pid").read_text()) if (data / "run" / "api.pid").exists() else None
    try:
        make("up", "SERVICES=api", env=env)
        sockets = listening_sockets(own_pid())
        assert ("127.0.0.1", port) in sockets and ("127.0.0.1", api.port) not in sockets, sockets
        r = requests.get(f"http://127.0.0.1:{port}/purchase_a_sword", params={"user": "port-override", "type": "gold"}, timeout=20)
        assert r.status_code == 200, r.text
        # It exits 1: the rest of this data dir's stack is down.
        row, counters = [ln.split() for ln in make("status", env=env, check=False).stdout.splitlines()
                         if ln.startswith("api ")]
        assert row[2:4] == [str(port), "healthy"], row
        assert counters[1:3] == ["accepted", "1,"], counters  # this API's one request, not the stack's

        log = (data / "logs" / "api.log").read_text(errors="replace").splitlines()
        shown = make("logs", "S=api", "FOLLOW=0", env=env).stdout.splitlines()
        assert shown and shown == log[-200:][-len(shown):], (shown[-5:], log[-5:])
        bad = make("logs", "S=no-such-service", "FOLLOW=0", env=env, check=False)
        assert bad.returncode != 0 and "no-such-service" in bad.stderr, bad.stderr

        first = own_pid()
        make("down", env=env)
        assert not alive(first)
        assert processes.port_free(port)
        make("up", "SERVICES=api", env=env)
        second = own_pid()
        assert "reset: removed" in make("reset", env=env).stdout
        assert not alive(second) and processes.port_free(port) and not data.exists()
    finally:
        make("down", env=env, check=False)  # nothing left behind when an assertion failed
    assert {svc.name: pid_of(svc.name) for svc in services.SERVICES} == stack_pids
