"""Spark job for bench/query.py: the rewrite step of compact_events.py on a bench table
(game_events/storage/rewrite.py), timed inside the job, so Spark's start-up is not.

    spark-submit bench/rewrite_table.py TABLE_PATH
"""
import json
import sys
import time

from game_events import spark
from game_events.storage import rewrite


def main():
    session = spark.session("bench_rewrite")
    t0 = time.monotonic()
    done = rewrite.rewrite(sys.argv[1], session)
    print(json.dumps({"seconds": round(time.monotonic() - t0, 2), "files": len(done),
                      "row_groups_before": sum(w.row_groups_before for w in done),
                      "row_groups_after": sum(w.row_groups_after for w in done)}))


if __name__ == "__main__":
    main()
