"""tests.support.children.stop: a process a test started is gone afterwards, its children
too, even when it ignores SIGTERM."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.children import stop
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(60)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead, only not reaped
    except FileNotFoundError:
        return False


def test_a_group_that_ignores_sigterm_is_killed(tmp_path):
    pids = tmp_path / "pids"
    proc = subprocess.Popen(["bash", "-c", f'trap "" TERM; sleep 60 & echo $! > {pids}; wait'],
                            start_new_session=True)
    try:
        wait_for(lambda: pids.exists() and pids.read_text().strip(), 10, interval=0.05, what="the child's pid")
        child = int(pids.read_text())
        stop(proc, group=True, timeout=1)
        assert proc.returncode is not None and not alive(proc.pid)
        assert not alive(child)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(5)


def test_a_process_that_has_exited_is_left_as_it_is():
    proc = subprocess.Popen(["true"])
    proc.wait(10)
    stop(proc)
    assert proc.returncode == 0
