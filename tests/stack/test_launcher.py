"""The launcher (`python -m stack`) on the real local stack: status, idempotent start-up,
one clear line for a taken port, and every service on loopback only."""
import ipaddress
import os
import signal
import subprocess
import sys

import pytest

from game_events import settings
from stack import services
from tests.support.commands import ROOT, launcher
from tests.support.services import pid_of
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)


def status_table() -> dict[str, str]:
    out = subprocess.run(["make", "-s", "status"], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
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
    for svc in services.SERVICES:
        pid = pid_of(svc.name)
        assert pid, f"{svc.name} is not running"
        sockets = listening_sockets(pid)
        assert sockets, f"{svc.name} listens nowhere"
        if svc.owns_port:
            assert ("127.0.0.1", svc.port) in sockets, (svc.name, sockets)
        public = {s for s in sockets if not s[0].startswith("127.")}
        assert len(public) <= UNBINDABLE.get(svc.name, 0), (svc.name, public)
