"""Waiting on a condition, never for a fixed time: every wait has a deadline."""
from __future__ import annotations

import time

from game_events.storage import checkpoint
from tests.support.engines import UNAVAILABLE


def wait_for(fn, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Polls fn() until it returns a truthy value; returns (value, seconds waited). Raises
    AssertionError once `timeout` seconds have passed."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = fn()
        if last:
            return last, time.monotonic() - t0
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def wait_for_commits(n: int = 1, timeout: float = 120) -> None:
    """Waits until the stream has committed n more batches than now, as its checkpoint
    says."""
    start = checkpoint.last_committed_batch()
    target = (-1 if start is None else start) + n

    def committed() -> bool:
        try:
            last = checkpoint.last_committed_batch()
        except UNAVAILABLE:  # HDFS still coming back after a fault
            return False
        return last is not None and last >= target

    wait_for(committed, timeout, what=f"the stream to commit {n} more batch(es) after batch {start}")
