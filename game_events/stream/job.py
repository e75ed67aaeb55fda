"""The streaming job: reads the topic, and every TRIGGER parses (rules) and lands (landing), and
restarts itself from its checkpoint in HDFS when Kafka, HDFS or the network goes away.
write_event_stream.py runs main()."""
from __future__ import annotations

import logging
import time

from pyspark.sql import DataFrame

from game_events import settings, spark
from game_events.storage.hadoopfs import HadoopFs
from game_events.stream import dedup, landing, metrics, parsers
from game_events.stream.landing import land_batch, landed_files
from game_events.stream.progress import CHOSEN, TOTALS, mark_ready, write_progress

log = logging.getLogger("game_events.stream")


def read_events(session, starting_offsets: str = "earliest",
                max_offsets_per_trigger: int | None = settings.MAX_OFFSETS_PER_TRIGGER,
                min_partitions: int | None = settings.STREAM_MIN_PARTITIONS) -> DataFrame:
    """The topic as a streaming DataFrame; max_offsets_per_trigger=None reads a whole
    backlog in one batch, min_partitions=None one task per Kafka partition."""
    reader = (
        session.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.KAFKA_BOOTSTRAP)
        .option("subscribe", settings.TOPIC)
        .option("startingOffsets", starting_offsets)
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets_per_trigger)
    if min_partitions:
        reader = reader.option("minPartitions", min_partitions)
    return reader.load()


def start_query(session, **trigger):
    """Starts the job's streaming query; trigger: Spark's (default: every TRIGGER)."""
    return (
        read_events(session)
        .writeStream.foreachBatch(land_batch)
        .option("checkpointLocation", settings.CHECKPOINT_PATH)
        .trigger(**(trigger or {"processingTime": settings.TRIGGER}))
        .queryName("write_event_stream")
        .start()
    )


def refuse_orphaned_output(session) -> None:
    """Stops the job before it starts when its checkpoint is gone but the tables hold
    landed files: without a checkpoint the batch ids restart at 0, so the job would skip
    new batches whose file names exist, or land the whole topic again beside them."""
    fs = HadoopFs(session)
    if fs.exists(f"{settings.CHECKPOINT_PATH}/offsets"):
        return
    for table_path in (settings.EVENTS_PATH, settings.BAD_EVENTS_PATH):
        if landed_files(fs, table_path):
            raise SystemExit(
                f"error: {table_path} holds landed files but the checkpoint {settings.CHECKPOINT_PATH} is missing; "
                "restore the checkpoint, or remove the landed files and the checkpoint together: "
                f"bin/hadoop fs -rm -r {settings.CHECKPOINT_PATH} {settings.EVENTS_PATH} {settings.BAD_EVENTS_PATH}")


def use_deduplicator(session) -> dedup.Deduplicator | None:
    """The landing's deduplicator for this driver (STREAM_DEDUP=on), None when it is off."""
    if settings.STREAM_DEDUP not in ("on", "off"):
        raise SystemExit(f"error: STREAM_DEDUP={settings.STREAM_DEDUP!r}; it is on or off")
    if settings.STREAM_DEDUP == "off":
        log.warning("STREAM_DEDUP=off: a client's retries land as often as they are sent")
        CHOSEN["dedup"] = "off"
        landing.DEDUP.pop("deduplicator", None)
        return None
    CHOSEN["dedup"] = "on"
    problem = None
    if parsers.active(session) != parsers.JAVA:
        # The sql parser's promise is a JVM without our jar; the deduplication lives in it.
        problem = "the stream runs without its jar (the sql parser)"
    else:
        try:
            landing.DEDUP["deduplicator"] = d = dedup.Deduplicator(session)
            return d
        except RuntimeError as e:
            problem = str(e)
    log.warning("STREAM_DEDUP=on, but %s: a client's retries land as often as they are sent", problem)
    CHOSEN["dedup"] = "off"
    landing.DEDUP.pop("deduplicator", None)
    return None


def recover(deduplicator: dedup.Deduplicator | None) -> None:
    """The table of ids as the batches' files left it, at each start of the query: a restart
    (or a failed query's restart in this process) decides a replayed batch as its first run did."""
    if deduplicator is None:
        return
    files = deduplicator.recover()
    log.info("deduplication by event_id within %d s of Kafka time: %d ids from %d batch files in %s",
             settings.DEDUP_WINDOW_MS // 1000, deduplicator.table.size(), files, deduplicator.directory)


def run_with_restarts(start, max_failures: int = settings.STREAM_MAX_FAILURES) -> None:
    """Runs the streaming query that start() starts and restarts it from its checkpoint
    when it fails (Kafka, HDFS or the network went away), with a growing pause. It gives
    up after max_failures failures in a row with no batch landed in between, so a
    permanent error still stops the job instead of looping for ever."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import StreamingQueryException

    failures, batches_at_failure = 0, -1
    while True:
        try:
            # Starting fails too while HDFS is away: it reads the checkpoint's metadata.
            start().awaitTermination()
            return
        except (StreamingQueryException, Py4JJavaError) as e:
            failures = failures + 1 if TOTALS["batches"] == batches_at_failure else 1
            batches_at_failure = TOTALS["batches"]
            if failures > max_failures:
                raise
            pause = min(2 ** failures, 30)
            metrics.count_restart()
            write_progress(last_error=str(e).splitlines()[0][:300])
            log.error("streaming query failed (%s); restarting from the checkpoint in %ds (failure %d of %d "
                      "in a row)", str(e).splitlines()[0][:300], pause, failures, max_failures)
            time.sleep(pause)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics.serve(settings.BIND_HOST, settings.STREAM_METRICS_PORT)  # once: restarts keep this process
    session = spark.session("write_event_stream")
    refuse_orphaned_output(session)
    parsers.active(session)  # chosen, and a fallback said, before the first batch
    write_progress()  # `status` shows this job's parser and counters from its start
    log.info("streaming %s from %s to %s every %s", settings.TOPIC, settings.KAFKA_BOOTSTRAP, settings.EVENTS_PATH,
             settings.TRIGGER)

    deduplicator = use_deduplicator(session)

    def start():
        recover(deduplicator)
        query = start_query(session)
        mark_ready()  # tells the launcher the query runs
        return query

    run_with_restarts(start)
