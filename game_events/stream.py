"""The streaming job's parsing and landing, derived from the catalogue.

parse() turns Kafka records into rows with a `reason` column that is null for a valid
event, using Spark's own column expressions (no Python UDFs). land_batch() writes one
micro-batch: valid events to hive_events, the rest to hive_bad_events, each as a single
parquet file per batch that appears in the table by one atomic rename, named after the
batch id, so a replayed batch never lands twice and a crashed one never lands half.
"""
from __future__ import annotations

import json
import logging
import os
import time

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from game_events import catalogue, config

log = logging.getLogger("game_events.stream")
CORRUPT = "_corrupt_record"
# Counted since the job started; `make status` shows them (via STREAM_PROGRESS_FILE).
TOTALS = {"batches": 0, "landed": 0, "quarantined": 0, "restarts": 0}


def json_schema() -> T.StructType:
    # Every field is read as text; the rules below decide which texts are valid, so a
    # wrong type is a reason, never a silent null.
    names = catalogue.event_fields() + [h for h, _ in catalogue.HEADERS]
    return T.StructType([T.StructField(n, T.StringType()) for n in names + [CORRUPT]])


def _full(pattern: str) -> str:
    return f"^{pattern}$"


def json_type(name: str) -> Column:
    """The JSON type of a top-level field, as Spark's variant names it (STRING, BIGINT,
    OBJECT<...>, VOID for null): from_json reads every field as text, so this is what
    tells the number 5 from the string "5"."""
    return F.schema_of_variant(F.try_variant_get(strict_json(), f"$['{name}']", "variant"))


def strict_json() -> Column:
    # Written out at each use, not projected once: only records off the fast path (see
    # parse) reach these rules, and a projected column would be parsed for every record.
    return F.try_parse_json(F.col("raw_event"))


def reasons() -> list[tuple[Column, Column | str]]:
    """(condition, reason) pairs in order; the first that holds names what is wrong."""
    e = F.col("e")
    etype = e["event_type"]
    rules: list[tuple[Column, Column | str]] = [
        (~F.is_valid_utf8(F.col("value").cast("string")), "invalid UTF-8"),
        (e.isNull() | e[CORRUPT].isNotNull() | ~F.ltrim(F.col("raw_event")).startswith("{"), "not a JSON object"),
        # Jackson (from_json) tolerates what strict JSON parsing refuses, such as a field given twice.
        (strict_json().isNull(), "not strict JSON (a repeated field name or a non-standard value)"),
        (etype.isNull(), "missing field event_type"),
        (json_type("event_type") != "STRING", "field event_type must be a JSON string"),
        (~etype.isin(list(catalogue.EVENTS)), F.concat(F.lit("unknown event_type: "), F.substring(etype, 1, 64))),
    ]
    known = set(catalogue.event_fields()) | {h for h, _ in catalogue.HEADERS}
    unknown = F.array_except(F.json_object_keys("raw_event"), F.array(*map(F.lit, sorted(known))))
    rules.append((F.size(unknown) > 0,
                  F.concat(F.lit("unknown field: "), F.substring(F.array_join(unknown, ","), 1, 64))))
    for header, _ in catalogue.HEADERS:
        rules.append((F.length(e[header]) > catalogue.MAX_HEADER, f"field {header} too long"))
        rules.append((~json_type(header).isin("STRING", "VOID"), f"field {header} must be a JSON string or null"))
    for ev in catalogue.EVENTS.values():
        is_ev = etype == ev.event_type
        for p in ev.params:
            rules.append((is_ev & e[p.name].isNull(), f"missing field {p.name}"))
            rules.append((is_ev & ~e[p.name].rlike(_full(p.pattern)), f"invalid field {p.name}"))
            kind = ("BIGINT", "integer") if p.kind == "coins" else ("STRING", "string")
            rules.append((is_ev & (json_type(p.name) != kind[0]), f"field {p.name} must be a JSON {kind[1]}"))
        for d in ev.derived:
            expected = (F.lit(d.constant) if d.table is None
                        else F.element_at(F.create_map(*[F.lit(x) for kv in d.table.items() for x in kv]),
                                          e[d.key]))
            rules.append((is_ev & (e[d.name].isNull() | ~e[d.name].rlike(_full("[0-9]{1,10}"))
                                   | (e[d.name].try_cast("bigint") != expected)), f"invalid field {d.name}"))
            rules.append((is_ev & (json_type(d.name) != "BIGINT"), f"field {d.name} must be a JSON integer"))
        for other in set(catalogue.event_fields()) - set(ev.fields):
            rules.append((is_ev & e[other].isNotNull(), f"unexpected field {other} for {ev.event_type}"))
    return rules


def parse(kafka_records: DataFrame, fast_path: bool = True) -> DataFrame:
    """Kafka records -> one row per record: every column of hive_events and of
    hive_bad_events, and `reason` (null for a valid event).

    A record in exactly the form the API writes (catalogue.wire_pattern) is valid by
    construction and skips the rules: one regular expression instead of some forty
    checks and a second, strict JSON parse. fast_path=False applies the rules to every
    record (the tests check that both ways give the same answers)."""
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
    if fast_path:
        api_form = F.is_valid_utf8(F.col("value").cast("string")) & F.col("raw_event").rlike(catalogue.wire_pattern())
        reason = F.when(api_form, F.lit(None).cast("string")).otherwise(reason)
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


def _hdfs(spark, path: str):
    """(file system, Hadoop Path) for a path, through the session's JVM."""
    target = spark._jvm.org.apache.hadoop.fs.Path(path)
    return target.getFileSystem(spark._jsc.hadoopConfiguration()), target


def _commit(df: DataFrame, table_path: str, batch_id: int) -> int:
    """Lands df as <table_path>/batch-<id>.parquet with one rename; returns rows landed
    (0 when the batch is empty or had already landed before a restart)."""
    fs, target = _hdfs(df.sparkSession, f"{table_path}/batch-{batch_id:012d}.parquet")
    Path = df.sparkSession._jvm.org.apache.hadoop.fs.Path
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
    TOTALS["batches"] += 1
    TOTALS["landed"] += landed
    TOTALS["quarantined"] += bad
    log.info("batch %d: landed %d events, quarantined %d bad records, in %.1fs (since start: %d landed, "
             "%d quarantined)", batch_id, landed, bad, time.monotonic() - t0, TOTALS["landed"], TOTALS["quarantined"])
    write_progress(batch_id=batch_id)


def write_progress(**extra) -> None:
    if not config.STREAM_PROGRESS_FILE:
        return
    tmp = config.STREAM_PROGRESS_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump({**TOTALS, **extra, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
    os.replace(tmp, config.STREAM_PROGRESS_FILE)


def refuse_orphaned_output(spark) -> None:
    """Stops the job before it starts when its checkpoint is gone but the tables hold
    landed files: without a checkpoint the batch ids restart at 0, so the job would skip
    new batches whose file names exist, or land the whole topic again beside them."""
    fs, checkpoint = _hdfs(spark, f"{config.CHECKPOINT_PATH}/offsets")
    if fs.exists(checkpoint):
        return
    for table_path in (config.EVENTS_PATH, config.BAD_EVENTS_PATH):
        path = spark._jvm.org.apache.hadoop.fs.Path(table_path)
        if fs.exists(path) and any(st.getPath().getName().endswith(".parquet") and
                                   not st.getPath().getName().startswith(".") for st in fs.listStatus(path)):
            raise SystemExit(
                f"error: {table_path} holds landed files but the checkpoint {config.CHECKPOINT_PATH} is missing; "
                "restore the checkpoint, or remove the landed files and the checkpoint together: "
                f"bin/hadoop fs -rm -r {config.CHECKPOINT_PATH} {config.EVENTS_PATH} {config.BAD_EVENTS_PATH}")


def run_with_restarts(start_query, max_failures: int = config.STREAM_MAX_FAILURES) -> None:
    """Runs the streaming query and restarts it from its checkpoint when it fails (Kafka,
    HDFS or the network went away), with a growing pause. It gives up after max_failures
    failures in a row with no batch landed in between, so a permanent error still stops
    the job instead of looping for ever."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import StreamingQueryException

    failures, batches_at_failure = 0, -1
    while True:
        try:
            # Starting fails too while HDFS is away: it reads the checkpoint's metadata.
            start_query().awaitTermination()
            return
        except (StreamingQueryException, Py4JJavaError) as e:
            failures = failures + 1 if TOTALS["batches"] == batches_at_failure else 1
            batches_at_failure = TOTALS["batches"]
            if failures > max_failures:
                raise
            pause = min(2 ** failures, 30)
            TOTALS["restarts"] += 1
            write_progress(last_error=str(e).splitlines()[0][:300])
            log.error("streaming query failed (%s); restarting from the checkpoint in %ds (failure %d of %d "
                      "in a row)", str(e).splitlines()[0][:300], pause, failures, max_failures)
            time.sleep(pause)


def read_events(spark, starting_offsets: str = "earliest") -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
        .option("subscribe", config.TOPIC)
        .option("startingOffsets", starting_offsets)
        .option("maxOffsetsPerTrigger", config.MAX_OFFSETS_PER_TRIGGER)
        .load()
    )
