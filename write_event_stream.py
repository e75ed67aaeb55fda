"""Streams game events from the Kafka topic `events` into the Hive table hive_events.

Every 10 seconds it parses the new records, drops the irrelevant `default` events, lands
the rest as parquet under /tmp/game_events in HDFS and quarantines records that are not
valid events in hive_bad_events, each with its reason. Its checkpoint lives in HDFS, so
after a crash or a restart it resumes where it stopped; if Kafka or HDFS goes away, the
query restarts itself from that checkpoint (see game_events/stream/).

    spark-submit --conf "spark.sql.parquet.writeLegacyFormat=true" write_event_stream.py
"""
from game_events.stream.job import main

if __name__ == "__main__":
    main()
