"""The event catalogue: the one definition of the game's events, their fields and types.

The API's validation (game_events.api), the Spark schema and parsing rules
(game_events.stream), the Hive tables (columns), the OpenAPI document and the report all
derive from this package. Nothing else lists event types, fields or column types.

    fields.py   the kinds of value (Text, Choice, Coins), each one object
    events.py   the events, their parameters and derived fields, the copied headers
    columns.py  the tables' columns and DDL, derived from the events
    wire.py     the form events take in Kafka
"""
from game_events.catalogue.columns import BAD_COLUMNS, COIN_FIELDS, COLUMNS, RECORD_COLUMNS, ddl, statements
from game_events.catalogue.events import (COINS, EVENTS, GUILD_FEE, HEADERS, IGNORED_EVENT_TYPES, MAX_COINS,
                                          MAX_HEADER, MAX_TEXT, SWORD_PRICES, TEXT, Derived, Event, Param,
                                          event_fields)
from game_events.catalogue.fields import Choice, Coins, Kind, Text
from game_events.catalogue.wire import encode, wire_spec

__all__ = [
    "BAD_COLUMNS", "COIN_FIELDS", "COLUMNS", "RECORD_COLUMNS", "ddl", "statements",
    "COINS", "EVENTS", "GUILD_FEE", "HEADERS", "IGNORED_EVENT_TYPES", "MAX_COINS", "MAX_HEADER", "MAX_TEXT",
    "SWORD_PRICES", "TEXT", "Derived", "Event", "Param", "event_fields",
    "Choice", "Coins", "Kind", "Text", "encode", "wire_spec",
]
