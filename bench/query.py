"""Query latency: the report's queries and `count(*) group by event_type` through Presto
over a table of EVENTS landed events in many small files (as the stream leaves them),
before and after compaction (game_events.storage.compaction), with the file counts.

    python -m bench.query --events 1000000,10000000 --events-per-file 10000
"""
from __future__ import annotations

import argparse
import statistics
import time

from bench import common
from game_events import presto
from game_events.analytics.queries import QUESTIONS
from game_events.storage import compaction


def query(sql: str) -> list[tuple]:
    return presto.rows(sql, timeout=600)


GROUP_BY_TYPE = "select event_type, count(*) from hive_events group by 1"


def queries() -> dict[str, str]:
    # The table is the run's own, so the questions run unrestricted: the SQL the report
    # and the demo send, not the tag filter the tests use to share a table.
    return {"count(*) group by event_type": GROUP_BY_TYPE, **{q.title: q.sql() for q in QUESTIONS}}


def latencies(table: str, repeat: int) -> dict[str, float]:
    out = {}
    for title, sql in queries().items():
        sql = sql.replace("hive_events", table)
        query(sql)  # warm: plan caches, JIT, the page cache
        times = []
        for _ in range(repeat):
            t0 = time.monotonic()
            query(sql)
            times.append(time.monotonic() - t0)
        out[title] = round(statistics.median(times), 3)
    return out


def one(events: int, per_file: int, repeat: int) -> dict:
    t = common.tag()
    table, path = f"bench_events_{t}", f"/tmp/bench/query-{t}"
    files = max(2, events // per_file)
    common.spark_submit(common.ROOT / "bench" / "make_table.py", table, path, events, files, t)
    count = query(f"select count(*) from {table}")[0][0]
    before = latencies(table, repeat)
    t0 = time.monotonic()
    # A table of its own, never written by the stream: every batch file is complete.
    r = compaction.compact(path, 0, checkpoint=None)
    took = time.monotonic() - t0
    merged = latencies(table, repeat)
    assert query(f"select count(*) from {table}")[0][0] == count
    # Then compact_events.py's second step: each merged file rewritten into sorted, large row groups.
    w = common.spark_submit(common.ROOT / "bench" / "rewrite_table.py", path)
    after = latencies(table, repeat)
    assert query(f"select count(*) from {table}")[0][0] == count
    return {"events": events, "rows_in_presto": count, "files_before": r.files_before, "files_after": r.files_after,
            "compaction_s": round(took, 2), "rewrite_s": w["seconds"], "row_groups_before": w["row_groups_before"],
            "row_groups_after": w["row_groups_after"], "before_s": before, "merged_s": merged, "after_s": after,
            "table": table}


def run(events: list[int], per_file: int, repeat: int) -> dict:
    return common.save("query", {"events_per_file": per_file, "repeat": repeat,
                                 "runs": [one(n, per_file, repeat) for n in events]})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", default="1000000,10000000", help="table sizes, comma-separated")
    ap.add_argument("--events-per-file", type=int, default=10000, help="rows per small file (one stream batch)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per query (the median is reported)")
    args = ap.parse_args()
    run([int(n) for n in args.events.split(",")], args.events_per_file, args.repeat)


if __name__ == "__main__":
    main()
