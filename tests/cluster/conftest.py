"""The cluster profile's fixtures. Its tests run in a pytest session of their own, with
STACK_PROFILE=cluster (`make test` runs it beside the single-node one, its ports moved by
STACK_PORT_OFFSET): the settings every client reads are then the cluster's. Where the
single-node stack holds the same ports, the session stops it first; it stops the cluster
when it ends."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from game_events import settings
from stack import processes
from tests.support.commands import ROOT, launcher
from tests.support.figures import record_figure


def _down(profile: str) -> None:
    subprocess.run([sys.executable, "-m", "stack", "down"], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "STACK_PROFILE": profile}, capture_output=True)


@pytest.fixture(scope="session")
def pipeline():
    """The whole pipeline on the cluster profile: three Kafka nodes, two DataNodes, the
    metastore, Spark standalone with two workers, Presto with a worker, the API and the
    stream."""
    assert settings.CLUSTER, "the cluster tests run with STACK_PROFILE=cluster (make test-cluster)"
    # Stopped only where it holds our ports: `make test` runs this session beside the
    # single-node one, on ports of its own (STACK_PORT_OFFSET).
    if processes.other_profile_running() == "local":
        _down("local")
    fresh = not (settings.DATA / "kafka-cluster-id").exists()
    out = launcher("up", "pipeline").stdout
    record_figure(f"cluster profile: seconds of `up pipeline`, {'formatting' if fresh else 'reusing'} its storage",
                  re.search(r"ready in ([\d.]+)s", out)[1])
    yield
    _down("cluster")


infra = pipeline
