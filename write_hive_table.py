from game_events import catalogue, settings, spark

# Built from settings and the catalogue, so the tables and paths it states are the ones registered.
__doc__ = f"""Registers the external tables that the streaming job lands parquet under:
{settings.EVENTS_TABLE} (the seed's {len(catalogue.COLUMNS)} columns) at {settings.EVENTS_PATH}, and
{settings.BAD_EVENTS_TABLE} at {settings.BAD_EVENTS_PATH} for records that are not valid events.
Re-running it is harmless.

    spark-submit write_hive_table.py
"""


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
