"""The event catalogue: the one definition of the game's events, their fields and types.

The API's validation (game_events.api), the Spark schema and parsing rules
(game_events.stream), the Hive DDL (game_events.tables) and the tests all derive from
this module. Nothing else lists event types, fields or column types.
"""
from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

# Amounts are whole coins in [0, 10^10): they fit decimal(10,0), the seed's column type.
MAX_COINS = 10**10 - 1
MAX_TEXT = 64  # user and guild names
MAX_HEADER = 256  # Accept, Host and User-Agent values


@dataclass(frozen=True)
class Param:
    """A query parameter a route takes, and the rule its value must follow."""

    name: str
    kind: str  # "text" (1..MAX_TEXT printable chars), "choice" or "coins"
    choices: tuple[str, ...] = ()

    @property
    def pattern(self) -> str:
        """The rule as a regular expression, shared by Python (re) and Spark (rlike)."""
        if self.kind == "choice":
            return "(" + "|".join(re.escape(c) for c in self.choices) + ")"
        if self.kind == "coins":
            return "[0-9]{1,10}"
        return "[^\\x00-\\x1f\\x7f]{1,%d}" % MAX_TEXT

    @property
    def wire_pattern(self) -> str:
        """How encode() writes a valid value: a JSON string with no escapes, or a JSON
        integer without leading zeros."""
        if self.kind == "coins":
            return "(0|[1-9][0-9]{0,%d})" % (len(str(MAX_COINS)) - 1)
        return '"' + self.pattern.replace("[^", '[^"\\\\') + '"'


@dataclass(frozen=True)
class Derived:
    """A field whose value the server decides, never the client: a constant, or looked
    up in `table` by the value of the parameter `key`."""

    name: str
    constant: int | None = None
    key: str | None = None
    table: dict | None = None

    def value(self, values: dict[str, str]) -> int:
        return self.constant if self.table is None else self.table[values[self.key]]


@dataclass(frozen=True)
class Event:
    event_type: str
    route: str
    reply: str
    params: tuple[Param, ...] = ()
    derived: tuple[Derived, ...] = ()

    def build(self, values: dict[str, str]) -> dict:
        """The event body for already validated parameter values."""
        event: dict = {"event_type": self.event_type}
        for p in self.params:
            event[p.name] = int(values[p.name]) if p.kind == "coins" else values[p.name]
        for d in self.derived:
            event[d.name] = d.value(values)
        return event

    @property
    def fields(self) -> list[str]:
        return ["event_type"] + [p.name for p in self.params] + [d.name for d in self.derived]


SWORD_PRICES = {"gold": 15, "silver": 10, "bronze": 5}
GUILD_FEE = 5

USER = Param("user", "text")
EVENTS = {
    e.event_type: e
    for e in (
        Event("default", "/", "This is the default response!\n"),
        Event("purchase_sword", "/purchase_a_sword", "Sword Purchased!\n",
              (USER, Param("type", "choice", tuple(SWORD_PRICES))),
              (Derived("price", key="type", table=SWORD_PRICES),)),
        Event("join_a_guild", "/join_a_guild", "Joined guild!\n",
              (USER, Param("name", "text")), (Derived("fee", constant=GUILD_FEE),)),
        Event("quit_guild", "/quit_guild", "Quit guild!\n", (USER, Param("name", "text"))),
        Event("get_paid", "/get_paid", "Got paid!\n", (USER, Param("amount", "coins"))),
    )
}
# The streaming job lands every event except these, which carry no information.
IGNORED_EVENT_TYPES = ("default",)

# Request headers copied into each event, and only these: (header, table column).
HEADERS = (("Accept", "accept"), ("Host", "host"), ("User-Agent", "user_agent"))

# Fields whose values are whole coins; the rest of the event's fields are text.
COIN_FIELDS = ("price", "fee", "amount")

# hive_events, exactly the seed's table: (column, Hive type), in the seed's order.
COLUMNS = (
    ("raw_event", "string"),
    ("timestamp", "string"),
    ("accept", "string"),
    ("host", "string"),
    ("user_agent", "string"),
    ("event_type", "string"),
    ("user", "string"),
    ("price", "decimal(10,0)"),
    ("type", "string"),
    ("fee", "decimal(10,0)"),
    ("name", "string"),
    ("amount", "decimal(10,0)"),
)

# hive_bad_events: records from the topic that are not valid events.
BAD_COLUMNS = (
    ("raw_event", "string"),
    ("reason", "string"),
    ("kafka_partition", "int"),
    ("kafka_offset", "bigint"),
    ("timestamp", "string"),
)


def event_fields() -> list[str]:
    """Every field an event body may carry, besides the copied headers."""
    names: list[str] = []
    for e in EVENTS.values():
        names += [n for n in e.fields if n not in names]
    return names


def encode(body: dict) -> bytes:
    """An event as it is written to Kafka: compact JSON in the order the API builds it,
    headers first. The stream recognises exactly this form cheaply (wire_pattern)."""
    return json.dumps(body, separators=(",", ":")).encode()


def wire_pattern() -> str:
    """A regular expression (Java's and Python's) that matches what encode() makes of a
    valid event from the API, and nothing invalid: keys in order, nothing escaped, a
    derived value given with the choice it is looked up by. The stream lets a record that
    matches skip its per-field rules; anything else (other key orders, escapes, spaces)
    still gets every rule."""
    header = '("[^"\\\\\\x00-\\x1f]{0,%d}"|null)' % MAX_HEADER
    alts = []
    for ev in EVENTS.values():
        keys = [d.key for d in ev.derived if d.table is not None]
        choices = [next(p.choices for p in ev.params if p.name == k) for k in keys]
        for combo in itertools.product(*choices):
            fixed = dict(zip(keys, combo))
            parts = [f'"{ev.event_type}"']
            parts += [f'"{p.name}":' + (f'"{re.escape(fixed[p.name])}"' if p.name in fixed else p.wire_pattern)
                      for p in ev.params]
            parts += [f'"{d.name}":{d.value(fixed)}' for d in ev.derived]
            alts.append(",".join(parts))
    headers = ",".join(f'"{h}":{header}' for h, _ in HEADERS)
    return "^\\{" + headers + ',"event_type":(' + "|".join(alts) + ")\\}$"
