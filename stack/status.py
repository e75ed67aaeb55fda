"""`status`: a table of service, pid, port, health and memory, then what the API and the
stream have counted and how far the stream lags behind the topic."""
from __future__ import annotations

import json
import urllib.error

from game_events import settings
from stack import probes
from stack.processes import probe, rss_mib, running_pid
from stack.services import BY_NAME, OPTIONAL, STREAM_PROGRESS, expand

ROW = "{:<14} {:>7} {:>6}  {:<9} {:>7}"


def show(names: list[str]) -> int:
    """Prints the table and the counters; 1 when a named infra service is not healthy."""
    rows, all_ok, total = [], True, 0.0
    for svc in expand(names, default="all"):
        pid = running_pid(svc)
        if pid is None:
            health, mem = "down", "-"
            all_ok &= svc.name in OPTIONAL
        else:
            health = "healthy" if probe(svc) is None else "unhealthy"
            all_ok &= health == "healthy"
            rss = rss_mib(pid)
            total += rss
            mem = f"{rss:.0f}"
        rows.append((svc.name, pid or "-", svc.port, health, mem))
    print(f"profile {settings.PROFILE}, data in {settings.DATA}")
    print(ROW.format("SERVICE", "PID", "PORT", "HEALTH", "RSS_MiB"))
    for row in rows:
        print(ROW.format(*map(str, row)))
    print(ROW.format("total", "", "", "", f"{total:.0f}"))
    print()
    for line in counters():
        print(line)
    return 0 if all_ok else 1


def api_health() -> dict | None:
    try:
        return probes.http_json(f"{settings.API_URL}/health")
    except urllib.error.HTTPError as e:  # 503: degraded, with the same body
        return json.loads(e.read() or b"{}")
    except OSError:
        return None


def counters() -> list[str]:
    """Lines for `status`: each counter, or why it cannot be read."""
    from game_events.stream.lag import stream_lag  # game_events.stream imports pyspark: only here

    lines = []
    if h := api_health():
        c = h["counters"]
        lines.append(f"api     accepted {c['accepted']}, rejected {c['rejected']}, 503 {c['unavailable']}; "
                     f"kafka {h['kafka']}")
    else:
        lines.append("api     not running")
    if running_pid(BY_NAME["stream"]) and STREAM_PROGRESS.exists():
        p = json.loads(STREAM_PROGRESS.read_text())
        lines.append(f"stream  {p['batches']} batches, landed {p['landed']}, quarantined {p['quarantined']}, "
                     f"duplicates dropped {p.get('duplicates', 0)} ({p.get('dedup_ids', 0)} ids in the window), "
                     f"restarts {p['restarts']} since the job started (last update {p['time']}); "
                     f"{p.get('parser', 'unknown')} parser")
    else:
        lines.append("stream  not running, or no batch yet")
    try:
        for part, o in stream_lag().items():
            lines.append(f"lag     topic {settings.TOPIC} partition {part}: end offset {o['end']}, stream "
                         f"committed {o['committed']}, {o['lag']} records behind")
    except Exception as e:  # Kafka or HDFS down: say so, the table above shows which
        lines.append(f"lag     unknown ({type(e).__name__}: {str(e)[:120]})")
    lines.append(monitoring())
    return lines


def monitoring() -> str:
    """Where to watch it: Prometheus, its dashboard and the alerts firing, when it runs."""
    if not running_pid(BY_NAME["prometheus"]):
        return "monitor not running (make up SERVICES=all starts Prometheus)"
    base = settings.PROMETHEUS_URL
    try:
        alerts = probes.http_json(f"{base}/api/v1/alerts", timeout=3)["data"]["alerts"]
        firing = sorted({a["labels"]["alertname"] for a in alerts if a["state"] == "firing"})
        state = f"{len(firing)} alerts firing" + (f": {', '.join(firing)}" if firing else "")
    except (OSError, ValueError, KeyError) as e:
        state = f"alerts unknown ({type(e).__name__})"
    return f"monitor Prometheus {base}, dashboard {base}/consoles/game_events.html; {state}"
