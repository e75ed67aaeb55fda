"""The event catalogue: the one definition of the game's events, their fields and types.

The API's validation (game_events.api), the Spark schema and parsing rules
(game_events.stream), the Hive tables (columns), the OpenAPI document and the report all
derive from this package. Nothing else lists event types, fields or column types.

    fields.py   the kinds of value (Text, Choice, Coins, Uuid), each one object
    events.py   the events, their parameters and derived fields, the copied headers, the
                event's id and the record the API writes
    columns.py  the tables' columns and DDL, derived from the events
    wire.py     the form events take in Kafka
"""
from game_events.catalogue.columns import BAD_COLUMNS, COIN_FIELDS, COLUMNS, RECORD_COLUMNS, ddl, statements
from game_events.catalogue.events import (COINS, EVENT_ID, EVENTS, GUILD_FEE, HEADERS, IGNORED_EVENT_TYPES,
                                          MAX_COINS, MAX_HEADER, MAX_TEXT, SWORD_PRICES, TEXT, Derived, Event,
                                          Param, event_fields, record)
from game_events.catalogue.fields import Choice, Coins, Kind, Text, Uuid
from game_events.catalogue.wire import encode, wire_spec

__all__ = [
    "BAD_COLUMNS", "COIN_FIELDS", "COLUMNS", "RECORD_COLUMNS", "ddl", "statements",
    "COINS", "EVENT_ID", "EVENTS", "GUILD_FEE", "HEADERS", "IGNORED_EVENT_TYPES", "MAX_COINS", "MAX_HEADER",
    "MAX_TEXT", "SWORD_PRICES", "TEXT", "Derived", "Event", "Param", "event_fields", "record",
    "Choice", "Coins", "Kind", "Text", "Uuid", "encode", "wire_spec",
]
