"""Spark job for bench/drain.py: the floor under any design. It reads the backlog of
EVENTS_TOPIC and writes each record's value as it is, with the file sink: no filter, no
parsing, no second table. No drain of this backlog to parquet can be much faster.

    spark-submit bench/drain_floor.py OUT_PATH CHECKPOINT
"""
import sys

from pyspark.sql import functions as F

from bench.common import drain_to_files, kafka_backlog
from game_events import spark


def values(session):
    return kafka_backlog(session).select(F.col("value").cast("string").alias("raw_event"),
                                         F.col("timestamp").cast("string"))


def main():
    out, checkpoint = sys.argv[1], sys.argv[2]
    drain_to_files(spark.session("drain_floor"), values, out, checkpoint)


if __name__ == "__main__":
    main()
