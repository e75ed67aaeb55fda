"""Markers by layer, and the fixtures that bring the real local stack up.

Each directory is a layer, and its tests are marked from it: unit/ needs nothing running
(`pytest tests/unit`); stack/ and faults/ use the local engines as real processes;
compose/ runs docker-compose.yml over podman; cluster/ runs on the cluster profile, in a
session of its own (STACK_PROFILE=cluster), and a session runs only the layers of its
profile. The `pipeline` fixture brings the whole
pipeline up once per session with the launcher's one command, `python -m stack up
pipeline` (the engines, the API and the stream; the launcher creates the topic and the
tables itself). Nothing is mocked.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from game_events import settings
from tests.support.commands import launcher

LAYERS = {
    "unit": ("unit",),
    "stack": ("stack",),
    "faults": ("stack", "faults", "slow"),
    "compose": ("compose", "slow"),
    "cluster": ("cluster", "slow"),
}
UNIT_TIMEOUT_S = 120  # a local Spark session starts in well under a minute
SERVICE_FIXTURES = {"infra", "pipeline", "monitoring"}


def pytest_configure(config):
    # Hypothesis keeps its caches beside the stack's data (var/), not in the working tree.
    from hypothesis import configuration

    configuration.set_hypothesis_home_dir(settings.DATA / "hypothesis")


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent
    # The profile decides every client's settings for the whole session, so a session
    # runs the tests of its profile; `make test` runs one session for each.
    other = [i for i in items if tests in i.path.resolve().parents
             and (i.path.resolve().relative_to(tests).parts[0] == "cluster") != settings.CLUSTER]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [i for i in items if i not in other]
    for item in items:
        if tests not in item.path.resolve().parents:
            continue
        layer = item.path.resolve().relative_to(tests).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: every test lives in a layer: {', '.join(LAYERS)}")
        for marker in LAYERS[layer]:
            item.add_marker(marker)
        if layer == "unit":
            if SERVICE_FIXTURES & set(item.fixturenames):
                raise pytest.UsageError(f"{item.nodeid}: a unit test may not start services")
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_S))


@pytest.fixture(scope="session")
def infra():
    """The engines alone: Kafka, HDFS, the metastore and Presto."""
    launcher("up", "infra")


@pytest.fixture(scope="session")
def pipeline():
    """The whole pipeline: the engines, the topic, the tables, the API and the stream."""
    launcher("up", "pipeline")


@pytest.fixture(scope="module")
def monitoring(pipeline):
    """Prometheus and the lag exporter beside the pipeline, scraping every 2 s, for one
    module: their scrapes (the lag exporter's read Kafka and HDFS) stop after it."""
    from tests.support import prometheus

    prometheus.start()
    yield
    launcher("down", "prometheus", "lag-exporter")


@pytest.fixture()
def tag() -> str:
    """A marker unique to one test, put in user names to tell its events apart."""
    return uuid.uuid4().hex[:10]
