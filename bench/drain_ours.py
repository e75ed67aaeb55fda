"""Spark job for bench/drain.py: our stream (game_events.stream: column expressions,
one atomic file per batch) drains the backlog of EVENTS_TOPIC, then stops.

    spark-submit bench/drain_ours.py      (EVENTS_TOPIC, EVENTS_PATH, STREAM_PARSER, ... from the environment)
"""
import json
import logging
import time

from bench.common import batch_metrics
from game_events import settings, spark
from game_events.storage.hadoopfs import HadoopFs
from game_events.stream import parsers
from game_events.stream.job import recover, start_query, use_deduplicator
from game_events.stream.landing import landed_files


def landed(session, table_path: str) -> int:
    files = landed_files(HadoopFs(session), table_path)
    return session.read.parquet(*files).count() if files else 0


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    session = spark.session("drain_ours")
    parser = parsers.active(session)  # as the stream does, before its clock starts
    deduplicator = use_deduplicator(session)
    t0 = time.monotonic()
    recover(deduplicator)  # in the clock: the stream does it at each start
    query = start_query(session, availableNow=True)
    query.awaitTermination()
    seconds = time.monotonic() - t0
    rows = sum(landed(session, p) for p in (settings.EVENTS_PATH, settings.BAD_EVENTS_PATH))
    print(json.dumps({"seconds": round(seconds, 2), "rows_landed": rows, "batches": batch_metrics(query),
                      "parser": parser, "dedup": settings.STREAM_DEDUP}))


if __name__ == "__main__":
    main()
