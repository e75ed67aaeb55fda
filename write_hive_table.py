"""Registers the external tables that the streaming job lands parquet under:
hive_events (the seed's 12 columns) at /tmp/game_events, and hive_bad_events for records
that are not valid events. Re-running it is harmless.

    spark-submit write_hive_table.py
"""
from game_events import catalogue, settings, spark


def main():
    session = spark.session("write_hive_table")
    for statement in catalogue.statements():
        session.sql(statement)
    for table in (settings.EVENTS_TABLE, settings.BAD_EVENTS_TABLE):
        location = session.sql(f"DESCRIBE FORMATTED {table}").where("col_name = 'Location'").first()
        print(f"table {table} at {location.data_type}")
    session.stop()


if __name__ == "__main__":
    main()
