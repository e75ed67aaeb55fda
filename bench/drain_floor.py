"""Spark job for bench/drain.py: the floor under any design. It reads the backlog of
EVENTS_TOPIC and writes each record's value as it is, with the file sink: no filter, no
parsing, no second table. No drain of this backlog to parquet can be much faster.

    spark-submit bench/drain_floor.py OUT_PATH CHECKPOINT
"""
import json
import sys
import time

from pyspark.sql import functions as F

from bench.common import batch_metrics
from game_events import config


def main():
    out, checkpoint = sys.argv[1], sys.argv[2]
    spark = config.spark_session("drain_floor")
    raw = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
           .option("subscribe", config.TOPIC).option("startingOffsets", "earliest").load())
    t0 = time.monotonic()
    query = (raw.select(F.col("value").cast("string").alias("raw_event"), F.col("timestamp").cast("string"))
             .writeStream.format("parquet").option("checkpointLocation", checkpoint).option("path", out)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    seconds = time.monotonic() - t0
    print(json.dumps({"seconds": round(seconds, 2), "rows_landed": spark.read.parquet(out).count(),
                      "batches": batch_metrics(query)}))


if __name__ == "__main__":
    main()
