"""Landing one micro-batch: valid events to hive_events, the rest to hive_bad_events, each
as a single parquet file per batch that appears in its table by one atomic rename, named
after the batch id, so a replayed batch never lands twice and a crashed one never lands
half."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from game_events import catalogue, settings
from game_events.storage.fs import FileSystem
from game_events.storage.hadoopfs import HadoopFs
from game_events.storage.parquet_footer import concat_parts, read_footer, rows_of
from game_events.stream import dedup, metrics, parsers, rules
from game_events.stream.progress import TOTALS, write_progress

log = logging.getLogger("game_events.stream")
# hive_events' columns: the parsed rows' event_id is left out (the seed's table has no such column).
EVENT_COLUMNS = [name for name, _ in catalogue.COLUMNS]
BAD_COLUMNS = [name for name, _ in catalogue.BAD_COLUMNS]


WRITER_OPTIONS = {
    "compression": "snappy",
    # The staging folder is hidden and commit()'s rename is the commit, so the committer's
    # own job-level renames and _SUCCESS file would only add HDFS round trips to every batch.
    "mapreduce.fileoutputcommitter.algorithm.version": "2",
    "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # raw_event is unique per event and no query filters on it: a dictionary would only fill
    # up and fall back, and its min/max cost a long comparison per row. Dictionaries and
    # statistics stay for every other column.
    "parquet.enable.dictionary#raw_event": "false",
    "parquet.column.statistics.enabled#raw_event": "false",
    # No reader here uses Parquet's page checksums or size statistics, and HDFS checksums
    # every block it stores.
    "parquet.page.write-checksum.enabled": "false",
    "parquet.size.statistics.enabled": "false",
}


def batch_file(table_path: str, batch_id: int) -> str:
    """Where a batch's rows land in a table."""
    return f"{table_path}/batch-{batch_id:012d}.parquet"


def quarantined_by_kind(session, path: str) -> dict[str, int]:
    """{reason kind: records} of a landed file of hive_bad_events (metrics.REASON_KINDS)."""
    rows = session.read.parquet(path).groupBy(metrics.reason_kind_column()).count().collect()
    return {r["kind"]: r["count"] for r in rows}


def landed_files(fs: FileSystem, table_path: str) -> list[str]:
    """The parquet files a table shows (Presto and Spark skip names starting with ".")."""
    if not fs.exists(table_path):
        return []
    return [p for p, _ in fs.files(table_path) if p.endswith(".parquet") and not p.rsplit("/", 1)[1].startswith(".")]


def commit(fs: FileSystem, frames: Iterator[DataFrame], table_path: str, batch_id: int,
           review: Callable[[], Iterator[DataFrame] | None] | None = None) -> int | None:
    """Lands the rows of frames as <table_path>/batch-<id>.parquet with one rename; returns
    rows landed (0 when the batch had none for this table), None when it had landed before
    a restart. Each frame is written before the next is asked for, so a later frame may
    depend on what an earlier write observed. review, once every frame is written and
    before the rename, may return frames to write instead (the batch without its
    duplicates)."""
    target = batch_file(table_path, batch_id)
    if fs.exists(target):
        return None  # this batch committed before a crash and Spark is replaying it
    # Presto and Spark skip names that start with "." when they list the table.
    staging = f"{table_path}/.staging/batch-{batch_id:012d}"
    # Every core writes a part file; their rows come from the parts' footers, not a count.
    # Every frame writes into the one folder (a left-over of a crashed attempt is replaced):
    # HDFS joins only files of one folder.
    def write(frames):
        for i, df in enumerate(frames):
            df.write.mode("append" if i else "overwrite").options(**WRITER_OPTIONS).parquet(staging)

    write(frames)
    again = review() if review else None
    if again is not None:
        write(again)
    parts = [(path, size, read_footer(fs, path, size)) for path, size in sorted(fs.files(staging))
             if path.rsplit("/", 1)[1].startswith("part-")] if fs.exists(staging) else []
    parts = [p for p in parts if rows_of(p[2])]
    if parts:
        # One concat joins the parts and a footer covering all their row groups into the
        # batch's one file (see storage.parquet_footer), then one rename shows it whole.
        rows = concat_parts(fs, parts, f"{staging}/.footer")
        fs.rename(parts[0][0], target)
    else:
        rows = 0
    fs.delete(staging, True)
    return rows


def land_batch(records: DataFrame, batch_id: int) -> None:
    """The streaming query's foreachBatch: the Kafka records of one micro-batch, parsed
    (rules), deduplicated by event id (dedup) and landed.

    The first pass lands the events in the API's own form (rules.parse_api_form), counts
    the records that are not, and gathers every record's id for the deduplication. Only a
    batch that has such records (or whose events landed before a restart, so no pass
    counted them) gets a second pass, which puts just those records through every rule:
    their valid events join the batch's file of events, the rest land in hive_bad_events.
    A batch with duplicates is written again without them before its file is shown, and
    an id reused with other content is quarantined with its reason."""
    t0 = time.monotonic()
    ignored = list(catalogue.IGNORED_EVENT_TYPES)
    session = records.sparkSession
    parser = parsers.active(session)
    dd = DEDUP.get("deduplicator")
    outcome: dict[str, dedup.Verdicts] = {}

    def events(source: DataFrame, plain: DataFrame) -> tuple[Iterator[DataFrame], Callable[[], int]]:
        """The batch's frames of events, the first pass reading source (the records, gathered
        for the deduplication or not), the second plain (the same records, never gathered twice)."""
        in_form, misses = rules.parse_api_form(source, parser)

        def frames():
            yield in_form.where(F.col("in_api_form") & ~F.col("event_type").isin(ignored)).select(*EVENT_COLUMNS)
            if misses():
                yield others(plain).where(F.col("reason").isNull() & ~F.col("event_type").isin(ignored)) \
                    .select(*EVENT_COLUMNS)
        return frames(), misses

    def others(source: DataFrame = records) -> DataFrame:
        # Built only when needed: even planning the rules costs a cold job seconds.
        return rules.parse_others(source, parser)

    first, misses = events(dd.gather(records, batch_id) if dd else records, records)

    def review():
        outcome["verdicts"] = verdicts = dd.decide(batch_id)
        kept = verdicts.kept(records)
        return None if verdicts.dropped is None else events(kept, kept)[0]

    fs = HadoopFs(session)
    landed = commit(fs, first, settings.EVENTS_PATH, batch_id, review if dd else None)
    events_s = time.monotonic() - t0
    if dd and landed is None:
        outcome["verdicts"] = dd.decided(batch_id)  # landed before a restart: its file says what it dropped
    verdicts = outcome.get("verdicts")
    conflicts = verdicts.conflicts(records) if verdicts else None
    bad, by_kind = 0, {}
    if landed is None or misses() or conflicts is not None:
        frames = []
        if landed is None or misses():
            frames.append(others(verdicts.kept(records) if verdicts else records).where(F.col("reason").isNotNull())
                          .select(*BAD_COLUMNS))
        if conflicts is not None:  # without the rules' second pass when every record was in the API's form
            frames.append(conflicts.select(F.make_valid_utf8(F.col("value").cast("string")).alias("raw_event"),
                                           "reason", F.col("partition").alias("kafka_partition"),
                                           F.col("offset").alias("kafka_offset"),
                                           F.col("timestamp").cast("string").alias("timestamp")).select(*BAD_COLUMNS))
        bad = commit(fs, iter(frames), settings.BAD_EVENTS_PATH, batch_id) or 0
        if bad:
            # The one extra Spark job for the metrics, in batches with bad records alone: their
            # kinds, from the file just landed rather than from Kafka again.
            by_kind = quarantined_by_kind(session, batch_file(settings.BAD_EVENTS_PATH, batch_id))
    landed = landed or 0
    dups = verdicts.counts["dup"] if verdicts else 0
    metrics.count_batch(landed, by_kind, time.monotonic() - t0, dups)
    log.info("batch %d: landed %d events, quarantined %d bad records, dropped %d duplicates, in %.1fs (%.1fs for "
             "the events; since start: %d landed, %d quarantined, %d duplicates)", batch_id, landed, bad, dups,
             time.monotonic() - t0, events_s, TOTALS["landed"], TOTALS["quarantined"], TOTALS["duplicates"])
    write_progress(batch_id=batch_id, **({"dedup_ids": dd.table.size()} if dd else {}))


# The process's Deduplicator, set by the job once its session exists (job.main); unset, the
# landing deduplicates nothing (the bench's seed-style jobs, the tests of the landing alone).
DEDUP: dict[str, dedup.Deduplicator] = {}
