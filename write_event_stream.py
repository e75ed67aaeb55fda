from game_events import settings
from game_events.stream.job import main

# Built from settings, so the trigger, topic and paths it states are the ones the job uses.
__doc__ = f"""Streams game events from the Kafka topic `{settings.TOPIC}` into the Hive table {settings.EVENTS_TABLE}.

Every {settings.TRIGGER} (STREAM_TRIGGER) it parses the new records, drops the irrelevant
`default` events, lands the rest as parquet under {settings.EVENTS_PATH} in HDFS and
quarantines records that are not valid events in {settings.BAD_EVENTS_TABLE} (under
{settings.BAD_EVENTS_PATH}), each with its reason. Its checkpoint lives in HDFS
({settings.CHECKPOINT_PATH}), so after a crash or a restart it resumes where it stopped;
if Kafka or HDFS goes away, the query restarts itself from that checkpoint (see
game_events/stream/).

    spark-submit --conf "spark.sql.parquet.writeLegacyFormat=true" write_event_stream.py
"""

if __name__ == "__main__":
    main()
