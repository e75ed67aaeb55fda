"""`make demo`: the seed's walkthrough, end to end on the local stack, with progress.

Starts the engines, creates the topic, registers the tables, starts the API and the
stream, sends the seed's event mix with generate_events.sh, waits for it to land and
prints Presto's answers.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "stack"))
import stackctl  # noqa: E402

from game_events.queries import QUERIES, query  # noqa: E402

T0 = time.monotonic()


def step(msg: str) -> None:
    print(f"==> [{time.monotonic() - T0:5.0f}s] {msg}", flush=True)


def sh(*argv, **kw) -> str:
    res = subprocess.run([str(a) for a in argv], cwd=ROOT, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise stackctl.StackError(f"{' '.join(map(str, argv))} failed:\n{res.stdout}{res.stderr}")
    return res.stdout


def table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join("    " + ln for ln in lines)


def count() -> int:
    return stackctl.presto_query("select count(*) from hive_events")[0][0]


def main() -> int:
    try:
        step("starting the engines: kafka, namenode, datanode, metastore, presto")
        stackctl.render()
        for svc in stackctl.expand(["infra"]):
            stackctl.start(svc)
        step("creating the Kafka topic `events`")
        print("    " + sh(ROOT / "bin" / "kafka-topics", "--create", "--topic", "events", "--partitions", "1",
                          "--replication-factor", "1", "--if-not-exists").strip() or "    topic exists")
        step("registering hive_events and hive_bad_events (spark-submit write_hive_table.py)")
        print("\n".join("    " + ln for ln in sh(ROOT / "bin" / "spark-submit", ROOT / "write_hive_table.py")
                        .splitlines() if ln.startswith("table ")))
        step("starting the API (127.0.0.1:5000) and the streaming job (10 s trigger)")
        for name in ("api", "stream"):
            stackctl.start(stackctl.BY_NAME[name])
        before = count()
        step("sending the seed's event mix with generate_events.sh")
        out = sh("bash", ROOT / "generate_events.sh")
        print("\n".join("    " + ln for ln in out.splitlines()))
        answered = time.monotonic()
        from game_events import catalogue

        expected = sum(int(ln.split()[1]) for ln in out.splitlines()[1:-1]
                       if ln.split()[-1].split("?")[0] != catalogue.EVENTS["default"].route)
        step(f"waiting for the next micro-batch to land {expected} events in HDFS")
        while count() < before + expected:
            if time.monotonic() - answered > 120:
                raise stackctl.StackError(f"events did not land within 120s; see {stackctl.logfile(stackctl.BY_NAME['stream'])}")
            time.sleep(1)
        step(f"landed; visible in Presto {time.monotonic() - answered:.1f}s after the last reply")
        for title, sql in QUERIES.items():
            header, rows = query(sql)
            print(f"\n  {title}\n{table(rows, header)}")
        print(f"\nThe stack keeps running: `make status`, `bin/presto --catalog hive --schema default`, "
              f"`make down` to stop.")
        step("demo done")
        return 0
    except stackctl.StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
