"""Landing one micro-batch: valid events to hive_events, the rest to hive_bad_events, each
as a single parquet file per batch that appears in its table by one atomic rename, named
after the batch id, so a replayed batch never lands twice and a crashed one never lands
half."""
from __future__ import annotations

import logging
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from game_events import catalogue, settings
from game_events.spark import hadoop_path
from game_events.stream.progress import TOTALS, write_progress

log = logging.getLogger("game_events.stream")


def commit(df: DataFrame, rows: int, table_path: str, batch_id: int) -> int:
    """Lands df (of `rows` rows) as <table_path>/batch-<id>.parquet with one rename;
    returns rows landed (0 when the batch is empty or had already landed before a restart)."""
    fs, target = hadoop_path(df.sparkSession, f"{table_path}/batch-{batch_id:012d}.parquet")
    Path = df.sparkSession._jvm.org.apache.hadoop.fs.Path
    if rows == 0 or fs.exists(target):
        return 0  # nothing to land, or this batch committed before a crash and Spark is replaying it
    # Presto and Spark skip names that start with "." when they list the table.
    staging = Path(f"{table_path}/.staging/batch-{batch_id:012d}")
    df.coalesce(1).write.mode("overwrite").option("compression", "snappy").parquet(staging.toString())
    (part,) = [s.getPath() for s in fs.listStatus(staging) if s.getPath().getName().startswith("part-")]
    if not fs.rename(part, target):
        raise IOError(f"could not rename {part} to {target}")
    fs.delete(staging, True)
    return rows


def land_batch(batch: DataFrame, batch_id: int) -> None:
    """The streaming query's foreachBatch: parse()'s rows of one micro-batch, landed."""
    t0 = time.monotonic()
    is_event = F.col("reason").isNull() & ~F.col("event_type").isin(list(catalogue.IGNORED_EVENT_TYPES))
    is_bad = F.col("reason").isNotNull()
    batch.persist()
    try:
        # One job parses the micro-batch into the cache, on every core, and counts both
        # sides; each table's write then reads the cache (a parquet file is one task).
        counts = batch.select(F.count_if(is_event).alias("events"), F.count_if(is_bad).alias("bad")).first()
        parsed_s = time.monotonic() - t0
        landed = commit(batch.where(is_event).select(*[n for n, _ in catalogue.COLUMNS]), counts["events"],
                        settings.EVENTS_PATH, batch_id)
        bad = commit(batch.where(is_bad).select(*[n for n, _ in catalogue.BAD_COLUMNS]), counts["bad"],
                     settings.BAD_EVENTS_PATH, batch_id)
    finally:
        batch.unpersist()
    TOTALS["batches"] += 1
    TOTALS["landed"] += landed
    TOTALS["quarantined"] += bad
    log.info("batch %d: landed %d events, quarantined %d bad records, in %.1fs (%.1fs parsing; since start: %d "
             "landed, %d quarantined)", batch_id, landed, bad, time.monotonic() - t0, parsed_s, TOTALS["landed"],
             TOTALS["quarantined"])
    write_progress(batch_id=batch_id)
