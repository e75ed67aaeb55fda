"""Hive DDL for the landed events, derived from the catalogue."""
from game_events import catalogue, config


def ddl(table: str, columns, location: str) -> str:
    cols = ",\n  ".join(f"`{name}` {hive_type}" for name, hive_type in columns)
    return f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n  {cols}\n)\nSTORED AS PARQUET\nLOCATION '{location}'"


def statements() -> list[str]:
    return [
        ddl(config.EVENTS_TABLE, catalogue.COLUMNS, config.EVENTS_PATH),
        ddl(config.BAD_EVENTS_TABLE, catalogue.BAD_COLUMNS, config.BAD_EVENTS_PATH),
    ]
