"""`make demo`: the seed's walkthrough on a running pipeline, with progress.

It expects the pipeline to be up (`make demo` runs `python -m stack up pipeline` first:
the engines, the topic, the tables, the API and the stream). It sends the seed's event
mix with generate_events.sh, waits for it to land and prints Presto's answers: about the
whole table, or with TAG set (which generate_events.sh appends to its user names) about
this run's events alone.

    python -m game_events.analytics.demo
    make demo TAG=mine
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from game_events import catalogue, presto, settings
from game_events.analytics.formatting import table
from game_events.analytics.queries import QUESTIONS, count_sql

LANDING_TIMEOUT_S = 120
# A table that has seen other runs (the tests, the report) can hold many users.
DEMO_ROWS = 10


class Progress:
    """Prints each step with the seconds since the demo started."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        print(f"==> [{time.monotonic() - self.t0:5.0f}s] {msg}", flush=True)


def send_mix() -> str:
    """Runs generate_events.sh against this deployment's API; returns what it printed."""
    res = subprocess.run(["bash", str(settings.ROOT / "generate_events.sh")], cwd=settings.ROOT,
                         env={**os.environ, "API_URL": settings.API_URL}, capture_output=True, text=True,
                         timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"generate_events.sh failed:\n{res.stdout}{res.stderr}")
    return res.stdout


def landing(report: str) -> int:
    """How many events of generate_events.sh's report the stream will land: those answered
    2xx, except on the routes of ignored events. Its lines: SENT 2XX OTHER HOST ENDPOINT."""
    ignored = {catalogue.EVENTS[t].route for t in catalogue.IGNORED_EVENT_TYPES}
    rows = [ln.split() for ln in report.splitlines()[1:-1]]
    return sum(int(r[1]) for r in rows if r[-1].split("?")[0] not in ignored)


def main() -> int:
    step = Progress()
    tag = os.environ.get("TAG") or None
    try:
        before = presto.scalar(count_sql(tag))
        step(f"sending the seed's event mix with generate_events.sh to {settings.API_URL}")
        report = send_mix()
        print(textwrap.indent(report.rstrip("\n"), "    "))
        answered = time.monotonic()
        expected = landing(report)
        step(f"waiting for the next micro-batch to land {expected} events in HDFS")
        while presto.scalar(count_sql(tag)) < before + expected:
            if time.monotonic() - answered > LANDING_TIMEOUT_S:
                raise RuntimeError(f"events did not land within {LANDING_TIMEOUT_S}s; see `make status` and "
                                   "`make logs S=stream`")
            time.sleep(1)
        step(f"landed; visible in Presto {time.monotonic() - answered:.1f}s after the last reply")
        for q in QUESTIONS:
            if q.in_demo:
                header, rows = presto.query(q.sql(tag))
                shown = table(header, rows[:DEMO_ROWS], markdown=False)
                if len(rows) > DEMO_ROWS:
                    shown += f"\n({len(rows) - DEMO_ROWS} more rows; bin/presto --catalog hive --schema default)"
                print(f"\n  {q.title}{'' if tag is None else f' (the events tagged {tag})'}\n"
                      f"{textwrap.indent(shown, '    ')}")
        print("\nThe stack keeps running: `make status`, `bin/presto --catalog hive --schema default`, "
              "`make down` to stop.")
        step("demo done")
        return 0
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
