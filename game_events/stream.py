"""The streaming job's parsing and landing, derived from the catalogue.

parse() turns Kafka records into rows with a `reason` column that is null for a valid
event, using Spark's own column expressions (no Python UDFs). land_batch() writes one
micro-batch: valid events to hive_events, the rest to hive_bad_events, each as a single
parquet file per batch that appears in the table by one atomic rename, named after the
batch id, so a replayed batch never lands twice and a crashed one never lands half.
"""
from __future__ import annotations

import logging
import time

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from game_events import catalogue, config

log = logging.getLogger("game_events.stream")
CORRUPT = "_corrupt_record"


def json_schema() -> T.StructType:
    # Every field is read as text; the rules below decide which texts are valid, so a
    # wrong type is a reason, never a silent null.
    names = catalogue.event_fields() + [h for h, _ in catalogue.HEADERS]
    return T.StructType([T.StructField(n, T.StringType()) for n in names + [CORRUPT]])


def _full(pattern: str) -> str:
    return f"^{pattern}$"


def reasons() -> list[tuple[Column, Column | str]]:
    """(condition, reason) pairs in order; the first that holds names what is wrong."""
    e = F.col("e")
    etype = e["event_type"]
    rules: list[tuple[Column, Column | str]] = [
        (~F.is_valid_utf8(F.col("value").cast("string")), "invalid UTF-8"),
        (e.isNull() | e[CORRUPT].isNotNull() | ~F.ltrim(F.col("raw_event")).startswith("{"), "not a JSON object"),
        (etype.isNull(), "missing field event_type"),
        (~etype.isin(list(catalogue.EVENTS)), F.concat(F.lit("unknown event_type: "), F.substring(etype, 1, 64))),
    ]
    known = set(catalogue.event_fields()) | {h for h, _ in catalogue.HEADERS}
    unknown = F.array_except(F.json_object_keys("raw_event"), F.array(*map(F.lit, sorted(known))))
    rules.append((F.size(unknown) > 0,
                  F.concat(F.lit("unknown field: "), F.substring(F.array_join(unknown, ","), 1, 64))))
    for header, _ in catalogue.HEADERS:
        rules.append((F.length(e[header]) > catalogue.MAX_HEADER, f"field {header} too long"))
    for ev in catalogue.EVENTS.values():
        is_ev = etype == ev.event_type
        for p in ev.params:
            rules.append((is_ev & e[p.name].isNull(), f"missing field {p.name}"))
            rules.append((is_ev & ~e[p.name].rlike(_full(p.pattern)), f"invalid field {p.name}"))
        for d in ev.derived:
            expected = (F.lit(d.constant) if d.table is None
                        else F.element_at(F.create_map(*[F.lit(x) for kv in d.table.items() for x in kv]),
                                          e[d.key]))
            rules.append((is_ev & (e[d.name].isNull() | ~e[d.name].rlike(_full("[0-9]{1,10}"))
                                   | (e[d.name].try_cast("bigint") != expected)), f"invalid field {d.name}"))
        for other in set(catalogue.event_fields()) - set(ev.fields):
            rules.append((is_ev & e[other].isNotNull(), f"unexpected field {other} for {ev.event_type}"))
    return rules


def parse(kafka_records: DataFrame) -> DataFrame:
    """Kafka records -> one row per record: every column of hive_events and of
    hive_bad_events, and `reason` (null for a valid event)."""
    parsed = kafka_records.select(
        "value", "partition", "offset",
        F.col("timestamp").cast("string").alias("timestamp"),
        F.make_valid_utf8(F.col("value").cast("string")).alias("raw_event"),
    ).withColumn("e", F.from_json("raw_event", json_schema(),
                                  {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT,
                                   "allowSingleQuotes": "false"}))
    reason = F.lit(None).cast("string")
    for cond, why in reversed(reasons()):
        reason = F.when(F.coalesce(cond, F.lit(False)), why).otherwise(reason)
    headers = dict((col, F.col("e")[h]) for h, col in catalogue.HEADERS)
    cols = []
    for name, hive_type in catalogue.COLUMNS:
        if name in ("raw_event", "timestamp"):
            cols.append(F.col(name))
        elif name in headers:
            cols.append(headers[name].alias(name))
        else:
            cols.append(F.col("e")[name].try_cast(hive_type).alias(name))
    return parsed.select(*cols, reason.alias("reason"),
                         F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"))


def _commit(df: DataFrame, table_path: str, batch_id: int) -> int:
    """Lands df as <table_path>/batch-<id>.parquet with one rename; returns rows landed
    (0 when the batch is empty or had already landed before a restart)."""
    spark = df.sparkSession
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    Path = jvm.org.apache.hadoop.fs.Path
    target = Path(f"{table_path}/batch-{batch_id:012d}.parquet")
    fs = target.getFileSystem(conf)
    if fs.exists(target):
        return 0  # this batch committed before a crash; Spark is replaying it
    rows = df.count()
    if rows == 0:
        return 0
    # Presto and Spark skip names that start with "." when they list the table.
    staging = Path(f"{table_path}/.staging/batch-{batch_id:012d}")
    df.coalesce(1).write.mode("overwrite").option("compression", "snappy").parquet(staging.toString())
    (part,) = [s.getPath() for s in fs.listStatus(staging) if s.getPath().getName().startswith("part-")]
    if not fs.rename(part, target):
        raise IOError(f"could not rename {part} to {target}")
    fs.delete(staging, True)
    return rows


def land_batch(batch: DataFrame, batch_id: int) -> None:
    t0 = time.monotonic()
    batch.persist()
    try:
        valid = batch.where(F.col("reason").isNull())
        events = valid.where(~F.col("event_type").isin(list(catalogue.IGNORED_EVENT_TYPES)))
        landed = _commit(events.select(*[n for n, _ in catalogue.COLUMNS]), config.EVENTS_PATH, batch_id)
        bad = _commit(batch.where(F.col("reason").isNotNull()).select(*[n for n, _ in catalogue.BAD_COLUMNS]),
                      config.BAD_EVENTS_PATH, batch_id)
    finally:
        batch.unpersist()
    log.info("batch %d: landed %d events, quarantined %d bad records, in %.1fs",
             batch_id, landed, bad, time.monotonic() - t0)


def read_events(spark, starting_offsets: str = "earliest") -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
        .option("subscribe", config.TOPIC)
        .option("startingOffsets", starting_offsets)
        .option("maxOffsetsPerTrigger", config.MAX_OFFSETS_PER_TRIGGER)
        .load()
    )
