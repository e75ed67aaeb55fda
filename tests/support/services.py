"""The launcher's services as the fault and launcher tests see them: pids, and SIGKILL."""
from __future__ import annotations

import os
import signal

from stack import processes, services
from tests.support.waits import wait_for


def service(name: str):
    return services.BY_NAME[name]


def pid_of(name: str) -> int | None:
    """The service's pid while it runs (the launcher's own record), else None."""
    return processes.running_pid(service(name))


def kill(name: str) -> None:
    """SIGKILLs a service's whole process group and waits (bounded) until it is gone."""
    pid = pid_of(name)
    assert pid, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: pid_of(name) is None, 30, what=f"{name} to die")
