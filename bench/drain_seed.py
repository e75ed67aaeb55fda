"""Spark job for bench/drain.py: the seed's design drains the backlog of EVENTS_TOPIC:
a Python UDF decides which records are events, from_json parses them and the file sink
writes them, then it stops.

    spark-submit bench/drain_seed.py OUT_PATH CHECKPOINT
"""
import json
import sys

from pyspark.sql.functions import from_json, udf
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from bench.common import drain_to_files, kafka_backlog
from game_events import spark


@udf(BooleanType())
def is_event(event_as_json):
    event = json.loads(event_as_json)
    return event["event_type"] in ("purchase_sword", "join_a_guild", "quit_guild", "get_paid")


def event_schema():
    return StructType([StructField(n, StringType(), True) for n in (
        "Accept", "Host", "User-Agent", "event_type", "user", "type", "price", "fee", "name", "amount")])


def events(session):
    # As the seed wrote it: one task per Kafka partition (the topic has one).
    raw = kafka_backlog(session, min_partitions=None)
    return (raw.filter(is_event(raw.value.cast("string")))
            .select(raw.value.cast("string").alias("raw_event"), raw.timestamp.cast("string"),
                    from_json(raw.value.cast("string"), event_schema()).alias("json"))
            .select("raw_event", "timestamp", "json.*"))


def main():
    out, checkpoint = sys.argv[1], sys.argv[2]
    drain_to_files(spark.session("drain_seed"), events, out, checkpoint)


if __name__ == "__main__":
    main()
