"""The stream's deduplication by event id (docs/dedup-design.md, option a4), as a building block:
not wired into the job yet.

    dedup_input(records)   Kafka records -> (value, timestamp, partition, offset, k, fp, ts_ms):
                           k the event id as 16 bytes, or a 32-byte key unique to the record
                           when it has no valid id; fp a hash of the value; ts_ms Kafka's time
    deduplicate(...)       those records through game_events/stream/java/Dedup.java, a stateful
                           processor: (value, timestamp, partition, offset, verdict,
                           first_partition, first_offset), verdict land, dup or conflict
    STATE_CONF             the Spark settings it needs, for the job to merge (a new checkpoint
                           only: an existing one keeps the state provider it was created with)
    DRAIN_CONF             and for availableNow runs, which otherwise never end

There is no fallback: without the jar's class, deduplicate() raises.
"""
from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from game_events import catalogue, settings
from game_events.stream import parsers

JAVA_CLASS = "game_events.stream.Dedup"
VERDICTS = ("land", "dup", "conflict")

STATE_CONF = {
    # transformWithState runs on RocksDB only; the default, HDFS-backed, is refused.
    "spark.sql.streaming.stateStore.providerClass":
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
    # A commit uploads the batch's changes, not the store's files.
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    # RocksDB's memory capped for all its instances in the JVM; its files stay on local disk.
    "spark.sql.streaming.stateStore.rocksdb.boundedMemoryUsage": "true",
    "spark.sql.streaming.stateStore.rocksdb.maxMemoryUsageMB": "256",
    # The 4.2 default, pinned: a replayed batch's commit has only been reasoned about for it.
    "spark.sql.streaming.stateStore.checkpointFormatVersion": "1",
}
# In ProcessingTime mode the operator always asks for another (empty) batch, so an
# availableNow query would never end (tests/unit/test_dedup.py shows it does end with this).
DRAIN_CONF = {"spark.sql.streaming.noDataMicroBatches.enabled": "false"}

_UUID = catalogue.EVENT_ID.kind.regex.pattern
# The API writes the id first: {"event_id":"<36 characters>"
_PREFIX = f'{{"{catalogue.EVENT_ID.name}":"'.encode()


def event_key() -> Column:
    """The record's event id as 16 bytes, or "no-id:<partition>:<offset>" (32 bytes) when it has
    no valid one, so that such records never share a key."""
    value = F.col("value")
    start = len(_PREFIX) + 1
    # The id and its closing quote, straight from the bytes, for records in the API's form.
    head = F.substring(value, start, 37).cast("string")
    api_id = F.when((F.substring(value, 1, len(_PREFIX)) == F.lit(_PREFIX)) & head.rlike(f'^{_UUID}"$'),
                    F.substring(head, 1, 36))
    # Anything else (rare) is parsed; coalesce evaluates it only when api_id is null.
    other = F.get_json_object(value.cast("string"), f"$.{catalogue.EVENT_ID.name}")
    eid = F.coalesce(api_id, F.when(other.rlike(f"^{_UUID}$"), other))
    return F.when(eid.isNotNull(), F.unhex(F.regexp_replace(eid, "-", ""))).otherwise(
        F.format_string("no-id:%05d:%020d", F.col("partition"), F.col("offset")).cast("binary"))


def dedup_input(records: DataFrame) -> DataFrame:
    """Kafka records (value, timestamp, partition, offset, ...) as Dedup.apply takes them."""
    return records.select("value", "timestamp", "partition", "offset", event_key().alias("k"),
                          F.xxhash64("value").alias("fp"), F.unix_millis("timestamp").alias("ts_ms"))


def java_class(session, jar: Path = settings.STREAM_JAR, name: str = JAVA_CLASS):
    return parsers.require_class(session, name, "deduplication", jar)


def deduplicate(session, records: DataFrame, window_ms: int = settings.DEDUP_WINDOW_MS,
                ttl_ms: int = settings.DEDUP_WINDOW_MS + settings.DEDUP_GRACE_MS,
                jar: Path = settings.STREAM_JAR) -> DataFrame:
    """Kafka records with a verdict each (module docstring). The session must run with
    STATE_CONF from the query's first batch."""
    out = java_class(session, jar).apply(dedup_input(records)._jdf, int(window_ms), int(ttl_ms))
    return DataFrame(out, session)
