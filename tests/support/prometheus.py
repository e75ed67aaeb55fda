"""Prometheus' HTTP API as the tests read it (instant queries and the alerts), and the
monitoring services started with scrapes and evaluations every 2 s: the same rules, and
their `for:` durations, read back in seconds instead of tens of seconds."""
from __future__ import annotations

import os

import requests

from game_events import settings
from tests.support.commands import launcher
from tests.support.waits import wait_for

INTERVAL = "2s"
# The pipeline's own targets, which the tests count through Prometheus.
PIPELINE_JOBS = ("api", "stream", "lag-exporter")


def start() -> None:
    """Prometheus (restarted, so that it scrapes every INTERVAL whoever started it before)
    and the lag exporter. Its history stays in var/prometheus across the restart."""
    launcher("down", "prometheus")
    launcher("up", "prometheus", "lag-exporter", env={**os.environ, "PROMETHEUS_INTERVAL": INTERVAL})
    # Healthy is not yet scraped: a counter's first sample taken after a test's events
    # landed would hide them from increase() and from a before/after difference.
    wait_for(lambda: set(by_label(f'up{{job=~"{"|".join(PIPELINE_JOBS)}"}} == 1', "job")) >= set(PIPELINE_JOBS),
             60, what=f"Prometheus' first scrape of {', '.join(PIPELINE_JOBS)}")


def query(promql: str) -> list[dict]:
    r = requests.get(f"{settings.PROMETHEUS_URL}/api/v1/query", params={"query": promql}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def value(promql: str) -> float | None:
    """The query's one sample's value; None when it has no sample (a series not scraped)."""
    result = query(promql)
    assert len(result) <= 1, f"{promql} gave {len(result)} series: {result}"
    return float(result[0]["value"][1]) if result else None


def by_label(promql: str, label: str) -> dict[str, float]:
    return {s["metric"].get(label, ""): float(s["value"][1]) for s in query(promql)}


def alert_states(name: str) -> set[str]:
    """The states ('pending', 'firing') of the active alerts named `name`: empty once resolved."""
    r = requests.get(f"{settings.PROMETHEUS_URL}/api/v1/alerts", timeout=10)
    r.raise_for_status()
    return {a["state"] for a in r.json()["data"]["alerts"] if a["labels"]["alertname"] == name}
