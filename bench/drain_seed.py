"""Spark job for bench/drain.py: the seed's design drains the backlog of EVENTS_TOPIC:
a Python UDF decides which records are events, from_json parses them and the file sink
writes them, then it stops.

    spark-submit bench/drain_seed.py OUT_PATH CHECKPOINT
"""
import json
import sys
import time

from pyspark.sql.functions import from_json, udf
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from bench.common import batch_metrics
from game_events import config


@udf(BooleanType())
def is_event(event_as_json):
    event = json.loads(event_as_json)
    return event["event_type"] in ("purchase_sword", "join_a_guild", "quit_guild", "get_paid")


def event_schema():
    return StructType([StructField(n, StringType(), True) for n in (
        "Accept", "Host", "User-Agent", "event_type", "user", "type", "price", "fee", "name", "amount")])


def main():
    out, checkpoint = sys.argv[1], sys.argv[2]
    spark = config.spark_session("drain_seed")
    raw = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
           .option("subscribe", config.TOPIC).option("startingOffsets", "earliest").load())
    events = (raw.filter(is_event(raw.value.cast("string")))
              .select(raw.value.cast("string").alias("raw_event"), raw.timestamp.cast("string"),
                      from_json(raw.value.cast("string"), event_schema()).alias("json"))
              .select("raw_event", "timestamp", "json.*"))
    t0 = time.monotonic()
    query = (events.writeStream.format("parquet").option("checkpointLocation", checkpoint).option("path", out)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    seconds = time.monotonic() - t0
    print(json.dumps({"seconds": round(seconds, 2), "rows_landed": spark.read.parquet(out).count(),
                      "batches": batch_metrics(query)}))


if __name__ == "__main__":
    main()
