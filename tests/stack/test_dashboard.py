"""The dashboard (Prometheus' console template /consoles/game_events.html) in headless
Chromium, on the running stack: it loads with no console error or failed load, each graph
draws the series Prometheus holds for it, and the page is saved as a screenshot
(var/dashboard.png; the README's docs/dashboard.png is one)."""
from __future__ import annotations

import pytest
import requests

from game_events import settings
from game_events.api import metrics as api_metrics
from game_events.stream import metrics_names as names
from tests.support import prometheus
from tests.support.browser import Browser
from tests.support.commands import launcher
from tests.support.engines import caught_up, stream_progress
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)
PAGE = f"{settings.PROMETHEUS_URL}/consoles/game_events.html"
# Each graph's legend, as the page names its series (stack/templates/prometheus/consoles).
LEGENDS = {"events": {"accepted (API)", "landed (stream)", "quarantined (stream)"},
           "lag": {f"partition {p}" for p in range(settings.TOPIC_PARTITIONS)},
           "batch": {"mean", "p90"}}


def graph(browser: Browser, node: str) -> dict:
    """What the graph in #node drew: its legend's names, the points of each line, and the
    message it shows instead of a graph (None when it drew one)."""
    return browser.evaluate(f"""(() => {{
        const g = document.querySelector('#{node}');
        const error = g.querySelector('.prom_graph_error');
        return {{legend: Array.from(g.querySelectorAll('.rickshaw_legend .label')).map(e => e.textContent),
                 points: Array.from(g.querySelectorAll('svg path.path')).map(p => (p.getAttribute('d') || '')
                                                                                  .split('L').length),
                 error: error && error.textContent}};
    }})()""")


def drawn(browser: Browser, node: str):
    g = graph(browser, node)
    return g if g["error"] or g["points"] else None


def lines_of_two_points(browser: Browser) -> dict | None:
    """The page, loaded afresh, once every graph has drawn and each line of LEGENDS' graphs
    holds two points at least; None before. A fresh stream's first batch gives its graph
    one point, and the next comes a step of the page's range later."""
    browser.open(PAGE)
    graphs = {node: wait_for(lambda: drawn(browser, node), 30, interval=0.2, what=f"the #{node} graph to draw")[0]
              for node in (*LEGENDS, "unavailable")}
    full = all(len(graphs[node]["points"]) == len(legend) and min(graphs[node]["points"]) >= 2
               for node, legend in LEGENDS.items())
    return graphs if full else None


def test_the_dashboard_loads_without_errors_and_draws_what_prometheus_holds(pipeline, monitoring, tag):
    # What earlier tests sent has landed: the count below moves with this test's events only.
    wait_for(caught_up, 120, what="the stream to land what was sent before")
    before = stream_progress()["landed"]
    for i in range(5):
        assert requests.get(f"{settings.API_URL}/get_paid", params={"user": f"d{i}-{tag}", "amount": 1},
                            timeout=30).status_code == 200
    # Samples of every graph's series: the events accepted and landed, a lag, a batch.
    wait_for(lambda: (prometheus.value(f'sum({names.ROWS_LANDED}{{job="stream"}})') or 0) >= before + 5
             and prometheus.value(f"sum({names.KAFKA_LAG})") is not None, 90, what="Prometheus to hold the batch")
    with Browser() as browser:
        graphs, _ = wait_for(lambda: lines_of_two_points(browser), 150, interval=5,
                             what="each graph's lines to hold two points")
        for node, legend in LEGENDS.items():
            assert graphs[node]["error"] is None and set(graphs[node]["legend"]) == legend, (node, graphs[node])
        # 503s by route: the routes Prometheus holds a 503 counter for in the page's hour,
        # or, with none, the graph's own message.
        routes = {s["metric"]["route"] for s in prometheus.query(
            f'count by (route) (count_over_time({api_metrics.REQUESTS}{{status="503"}}[1h]))')}
        g = graph(browser, "unavailable")
        assert (set(g["legend"]), g["error"]) == ((routes, None) if routes else (set(), "No timeseries returned")), g
        up = browser.evaluate("document.querySelector('.prom_console_rhs').innerText")
        browser.screenshot(settings.DATA / "dashboard.png")
        assert browser.errors == [], browser.errors
    targets = prometheus.query("up")
    assert f"Targets up\t{sum(s['value'][1] == '1' for s in targets)} / {len(targets)}" in up, up


def test_make_status_names_prometheus_the_dashboard_and_the_alerts_firing(pipeline, monitoring):
    out = launcher("status").stdout
    (line,) = [ln for ln in out.splitlines() if ln.startswith("monitor ")]
    assert line.startswith(f"monitor Prometheus {settings.PROMETHEUS_URL}, dashboard {PAGE}; "), line
    alerts = requests.get(f"{settings.PROMETHEUS_URL}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    firing = sorted({a["labels"]["alertname"] for a in alerts if a["state"] == "firing"})
    assert line.endswith(f"{len(firing)} alerts firing" + (f": {', '.join(firing)}" if firing else "")), line
