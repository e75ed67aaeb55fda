"""Spark job for bench/drain.py: our stream (game_events.stream: column expressions,
one atomic file per batch) drains the backlog of EVENTS_TOPIC, then stops.

    spark-submit bench/drain_ours.py      (EVENTS_TOPIC, EVENTS_PATH, ... from the environment)
"""
import json
import time

from bench.common import batch_metrics
from game_events import config, stream


def landed(spark, table_path: str) -> int:
    fs, path = stream._hdfs(spark, table_path)
    return spark.read.parquet(table_path).count() if fs.exists(path) else 0


def main():
    spark = config.spark_session("drain_ours")
    t0 = time.monotonic()
    query = (stream.parse(stream.read_events(spark)).writeStream.foreachBatch(stream.land_batch)
             .option("checkpointLocation", config.CHECKPOINT_PATH).trigger(availableNow=True).start())
    query.awaitTermination()
    seconds = time.monotonic() - t0
    rows = sum(landed(spark, p) for p in (config.EVENTS_PATH, config.BAD_EVENTS_PATH))
    print(json.dumps({"seconds": round(seconds, 2), "rows_landed": rows, "batches": batch_metrics(query)}))


if __name__ == "__main__":
    main()
