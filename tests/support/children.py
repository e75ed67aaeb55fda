"""Stopping a process a test started, so that none is left behind even when it ignores
SIGTERM or a wait runs out."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

# A stand-in for a daemon, which the test stops; the sleep only bounds an orphan's life.
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def stop(proc: subprocess.Popen, group: bool = False, timeout: float = 30) -> None:
    """SIGTERM to the process (its whole group if it leads one), SIGKILL after timeout
    seconds, and wait for it: no process outlives the test."""
    if proc.poll() is not None:
        return

    def signal_it(sig: int) -> None:
        try:
            os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        except ProcessLookupError:
            pass  # gone between the poll and the signal

    signal_it(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_it(signal.SIGKILL)
        proc.wait(timeout)
