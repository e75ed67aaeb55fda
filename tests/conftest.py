"""Fixtures that start the real local stack once per test session.

Tests marked `stack` use Kafka, HDFS, the metastore and Presto as local processes
(stack/stackctl.py); the pipeline fixture adds the topic, the tables, the API and the
streaming job. Nothing here is mocked.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "stack"))
import stackctl  # noqa: E402

BIN = ROOT / "bin"
API = f"http://127.0.0.1:{stackctl.SETTINGS['API_PORT']}"


def run(*argv, check=True, timeout=300, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def stackctl_cmd(*args, check=True):
    return run(sys.executable, ROOT / "stack" / "stackctl.py", *args, check=check)


@pytest.fixture(scope="session")
def stack():
    stackctl_cmd("up", "infra")
    return stackctl


@pytest.fixture(scope="session")
def pipeline(stack):
    run(BIN / "kafka-topics", "--create", "--topic", "events", "--partitions", "1", "--replication-factor", "1",
        "--if-not-exists")
    run(BIN / "spark-submit", ROOT / "write_hive_table.py")
    stackctl_cmd("up", "api", "stream")
    return stack


@pytest.fixture()
def tag() -> str:
    """A marker unique to one test, put in user names to tell its events apart."""
    return uuid.uuid4().hex[:10]


def presto_rows(sql: str) -> list[tuple]:
    from pyhive import presto

    conn = presto.connect(host=stackctl.SETTINGS["PRESTO_HOST"], port=int(stackctl.SETTINGS["PRESTO_PORT"]),
                          catalog="hive", schema="default", username="tests")
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def wait_for(fn, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Polls fn() until it returns a truthy value; returns (value, seconds waited)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = fn()
        if last:
            return last, time.monotonic() - t0
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def record_figure(name: str, value) -> None:
    """Measured figures for the issue notes, appended to var/test-figures.txt."""
    out = stackctl.DATA / "test-figures.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {name}: {value}\n")
