"""Registers the external tables that the streaming job lands parquet under:
hive_events (the seed's 12 columns) at /tmp/game_events, and hive_bad_events for records
that are not valid events. Re-running it is harmless.

    spark-submit write_hive_table.py
"""
from game_events import config, tables


def main():
    spark = config.spark_session("write_hive_table")
    for statement in tables.statements():
        spark.sql(statement)
    for table in (config.EVENTS_TABLE, config.BAD_EVENTS_TABLE):
        location = spark.sql(f"DESCRIBE FORMATTED {table}").where("col_name = 'Location'").first()
        print(f"table {table} at {location.data_type}")
    spark.stop()


if __name__ == "__main__":
    main()
