"""Streams game events from the Kafka topic `events` into the Hive table hive_events.

Every 10 seconds it parses the new records, drops the irrelevant `default` events, lands
the rest as parquet under /tmp/game_events in HDFS and quarantines records that are not
valid events in hive_bad_events, each with its reason. Its checkpoint lives in HDFS, so
after a crash or a restart it resumes where it stopped; if Kafka or HDFS goes away, the
query restarts itself from that checkpoint.

    spark-submit --conf "spark.sql.parquet.writeLegacyFormat=true" write_event_stream.py
"""
import logging
import os
from pathlib import Path

from game_events import config, stream


def start_query(spark):
    return (
        stream.parse(stream.read_events(spark))
        .writeStream.foreachBatch(stream.land_batch)
        .option("checkpointLocation", config.CHECKPOINT_PATH)
        .trigger(processingTime=config.TRIGGER)
        .queryName("write_event_stream")
        .start()
    )


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spark = config.spark_session("write_event_stream")
    stream.refuse_orphaned_output(spark)
    logging.getLogger("game_events.stream").info(
        "streaming %s from %s to %s every %s", config.TOPIC, config.KAFKA_BOOTSTRAP, config.EVENTS_PATH, config.TRIGGER)

    def start():
        query = start_query(spark)
        if os.environ.get("GAME_EVENTS_READY_FILE"):  # tells `make up stream` the query runs
            Path(os.environ["GAME_EVENTS_READY_FILE"]).touch()
        return query

    stream.run_with_restarts(start)


if __name__ == "__main__":
    main()
