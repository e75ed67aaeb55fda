"""The game's events: the one list of event types, their routes, their fields and the
rules the fields follow. Adding an event type means adding one Event to EVENTS; the API's
routes and validation, the OpenAPI document, the stream's rules, the table's columns and
the report all follow from it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from game_events.catalogue.fields import Choice, Coins, Kind, Text, Uuid

# Amounts are whole coins in [0, 10^10): they fit decimal(10,0), the seed's column type.
MAX_COINS = 10**10 - 1
MAX_TEXT = 64  # user and guild names
MAX_HEADER = 256  # Accept, Host and User-Agent values
TEXT = Text(MAX_TEXT)
COINS = Coins(MAX_COINS)


@dataclass(frozen=True)
class Param:
    """A query parameter a route takes, and the kind of value it must hold."""

    name: str
    kind: Kind

    @property
    def pattern(self) -> str:
        """The rule as a regular expression, shared by Python (re) and Spark (rlike)."""
        return self.kind.pattern

    @property
    def choices(self) -> tuple[str, ...]:
        return self.kind.choices


@dataclass(frozen=True)
class Derived:
    """A field whose value the server decides, never the client: a constant, or looked
    up in `table` by the value of the parameter `key`. Always a number of coins."""

    name: str
    constant: int | None = None
    key: str | None = None
    table: dict | None = None
    kind: Kind = COINS

    def value(self, values: dict[str, str]) -> int:
        return self.constant if self.table is None else self.table[values[self.key]]


@dataclass(frozen=True)
class Event:
    """One event type. `columns` lists its fields in the order of hive_events' columns
    (the seed's order); the API writes them to Kafka in another order: the parameters
    first, then the derived fields (see fields and catalogue.wire)."""

    event_type: str
    route: str
    reply: str
    columns: tuple[Param | Derived, ...] = ()

    @cached_property  # asked for each request; the columns never change
    def params(self) -> tuple[Param, ...]:
        return tuple(f for f in self.columns if isinstance(f, Param))

    @cached_property
    def derived(self) -> tuple[Derived, ...]:
        return tuple(f for f in self.columns if isinstance(f, Derived))

    def build(self, values: dict[str, str]) -> dict:
        """The event body for already validated parameter values."""
        event: dict = {"event_type": self.event_type}
        for p in self.params:
            event[p.name] = p.kind.convert(values[p.name])
        for d in self.derived:
            event[d.name] = d.value(values)
        return event

    @property
    def fields(self) -> list[str]:
        """The body's field names, in the order build() writes them."""
        return ["event_type"] + [p.name for p in self.params] + [d.name for d in self.derived]


SWORD_PRICES = {"gold": 15, "silver": 10, "bronze": 5}
GUILD_FEE = 5

USER = Param("user", TEXT)
EVENTS = {
    e.event_type: e
    for e in (
        Event("default", "/", "This is the default response!\n"),
        Event("purchase_sword", "/purchase_a_sword", "Sword Purchased!\n",
              (USER, Derived("price", key="type", table=SWORD_PRICES), Param("type", Choice(tuple(SWORD_PRICES))))),
        Event("join_a_guild", "/join_a_guild", "Joined guild!\n",
              (USER, Derived("fee", constant=GUILD_FEE), Param("name", TEXT))),
        Event("quit_guild", "/quit_guild", "Quit guild!\n", (USER, Param("name", TEXT))),
        Event("get_paid", "/get_paid", "Got paid!\n", (USER, Param("amount", COINS))),
    )
}
# The streaming job lands every event except these, which carry no information.
IGNORED_EVENT_TYPES = ("default",)

# Request headers copied into each event, and only these: (header, table column).
HEADERS = (("Accept", "accept"), ("Host", "host"), ("User-Agent", "user_agent"))

# The event's id: the client's own (so that a retry after a timeout or a 503 carries the
# same one), an optional parameter of every route, or else a uuid4 the API assigns. A field
# of the record, not of the event's body: it travels in Kafka and raw_event, and is no
# column of hive_events (the seed's table). Records of other producers may lack it.
EVENT_ID = Param("event_id", Uuid())


def record(event_id: str, headers: dict, body: dict) -> dict:
    """What the API writes to Kafka for an event (catalogue.encode): the id first, at a fixed
    place the stream's parsers read cheaply, then the copied headers, then the body (build)."""
    return {EVENT_ID.name: event_id, **headers, **body}


def event_fields() -> list[str]:
    """Every field an event body may carry, besides the copied headers, in the order the
    events write them."""
    names: list[str] = []
    for e in EVENTS.values():
        names += [n for n in e.fields if n not in names]
    return names
