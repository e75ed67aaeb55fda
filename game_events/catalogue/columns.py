"""The two tables the stream lands, derived from the events: hive_events (exactly the
seed's 12 columns, in its order) and hive_bad_events, with their Hive DDL."""
from __future__ import annotations

from game_events import settings
from game_events.catalogue.events import EVENTS, HEADERS
from game_events.catalogue.fields import Coins, Kind

# The Kafka record's own columns: the event as stored, and Kafka's timestamp.
RECORD_COLUMNS = (("raw_event", "string"), ("timestamp", "string"))


def _event_field_kinds() -> dict[str, Kind]:
    """Each field of the events once, with its kind, in the events' column order."""
    kinds: dict[str, Kind] = {}
    for e in EVENTS.values():
        for f in e.columns:
            kinds.setdefault(f.name, f.kind)
    return kinds


_KINDS = _event_field_kinds()

# hive_events: (column, Hive type), in the seed's order.
COLUMNS = (RECORD_COLUMNS + tuple((column, "string") for _, column in HEADERS) + (("event_type", "string"),)
           + tuple((name, kind.hive_type) for name, kind in _KINDS.items()))

# Fields whose values are whole coins; the rest of the event's fields are text.
COIN_FIELDS = tuple(name for name, kind in _KINDS.items() if isinstance(kind, Coins))

# hive_bad_events: records from the topic that are not valid events.
BAD_COLUMNS = (
    ("raw_event", "string"),
    ("reason", "string"),
    ("kafka_partition", "int"),
    ("kafka_offset", "bigint"),
    ("timestamp", "string"),
)


def ddl(table: str, columns, location: str) -> str:
    cols = ",\n  ".join(f"`{name}` {hive_type}" for name, hive_type in columns)
    return f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n  {cols}\n)\nSTORED AS PARQUET\nLOCATION '{location}'"


def statements() -> list[str]:
    """The DDL that registers both tables (write_hive_table.py runs it)."""
    return [
        ddl(settings.EVENTS_TABLE, COLUMNS, settings.EVENTS_PATH),
        ddl(settings.BAD_EVENTS_TABLE, BAD_COLUMNS, settings.BAD_EVENTS_PATH),
    ]
