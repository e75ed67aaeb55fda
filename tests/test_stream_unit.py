"""The streaming job's parsing rules on a local Spark session (no Kafka, no HDFS): every
kind of bad record gets its reason, and a good event passes with its values."""
import datetime

import pytest

from game_events import catalogue, stream
from poison import KINDS, good


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("test_stream_unit")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()


def parsed(spark, values: list[bytes | None]) -> list:
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("value", T.BinaryType()), T.StructField("partition", T.IntegerType()),
                           T.StructField("offset", T.LongType()), T.StructField("timestamp", T.TimestampType())])
    now = datetime.datetime(2026, 1, 1)
    df = spark.createDataFrame([(v, 0, i, now) for i, v in enumerate(values)], schema)
    return stream.parse(df).orderBy("kafka_offset").collect()


def test_every_kind_of_bad_record_gets_its_reason(spark):
    rows = parsed(spark, [make(7) for _, make, _ in KINDS])
    got = [(kind, row["reason"]) for (kind, _, _), row in zip(KINDS, rows)]
    assert got == [(kind, reason) for kind, _, reason in KINDS]


def test_a_good_event_passes_with_its_values(spark):
    (row,) = parsed(spark, [good("alice", 42)])
    assert row["reason"] is None
    assert (row["event_type"], row["user"], int(row["amount"]), row["host"]) == ("get_paid", "alice", 42,
                                                                                 "localhost:5000")


def test_every_event_the_api_can_build_passes(spark):
    values = {"user": "bob", "type": "silver", "name": "knights", "amount": "0"}
    events = [catalogue.EVENTS[t].build({p.name: values[p.name] for p in e.params})
              for t, e in catalogue.EVENTS.items()]
    import json

    rows = parsed(spark, [json.dumps({"Accept": None, "Host": "h", "User-Agent": "ua", **e}).encode() for e in events])
    assert [r["reason"] for r in rows] == [None] * len(events)
