"""The kinds of value a field of an event can hold: text, one of a few choices, a whole
number of coins, or an id (a UUID).

Each kind is one object that knows everything the pipeline needs about its values: the
rule as a regular expression (shared by Python's re and Spark's rlike), the form
catalogue.encode() writes a valid value in, the API's error message, the OpenAPI schema,
the JSON type the stream expects, the Hive column type and how a checked text becomes
the event's value. Nothing else in the project asks which kind a field is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Kind:
    """What kinds share: their values travel as JSON strings and land as Hive strings."""

    choices = ()  # only a Choice has any
    json_type = "STRING"  # Spark's name of the JSON type a valid value has (schema_of_variant)
    json_type_name = "string"  # and its name in the stream's reasons
    hive_type = "string"

    @property
    def pattern(self) -> str:
        raise NotImplementedError

    # Patterns are built once per kind (cached_property works on a frozen dataclass, which
    # keeps a __dict__): the API checks every value of every request against them.
    @cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.pattern)

    def wire_spec(self) -> list[str]:
        """How encode() writes a valid value, for the stream's parser of the API's form
        (catalogue.wire_spec): the kind's word and its bounds."""
        raise NotImplementedError

    def message(self, name: str) -> str:
        """The API's answer when a value breaks the rule."""
        raise NotImplementedError

    def schema(self) -> dict:
        """The OpenAPI schema of a value in a query string."""
        raise NotImplementedError

    def batch_schema(self) -> dict:
        """The OpenAPI schema of a value in an element of POST /events."""
        return self.schema()

    def text_of(self, value) -> str | None:
        """The text of a JSON value sent in POST /events, as if from a query string; None
        if this kind refuses that JSON type."""
        return value if isinstance(value, str) else None

    def wrong_json_type(self, name: str) -> str:
        return f"{name} must be a string"

    def convert(self, text: str):
        """The event's value for a checked text."""
        return text


@dataclass(frozen=True)
class Text(Kind):
    """1 to max_length printable characters (user and guild names)."""

    max_length: int

    @cached_property
    def pattern(self) -> str:
        return "[^\\x00-\\x1f\\x7f]{1,%d}" % self.max_length

    def wire_spec(self) -> list[str]:
        return ["text", str(self.max_length)]  # a JSON string, nothing escaped

    def message(self, name: str) -> str:
        return f"{name} must be 1 to {self.max_length} printable characters"

    def schema(self) -> dict:
        return {"type": "string", "minLength": 1, "maxLength": self.max_length, "pattern": f"^{self.pattern}$"}


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed list of names (sword types)."""

    choices: tuple[str, ...]

    @cached_property
    def pattern(self) -> str:
        return "(" + "|".join(re.escape(c) for c in self.choices) + ")"

    def wire_spec(self) -> list[str]:
        return ["choice", *self.choices]

    def message(self, name: str) -> str:
        return f"{name} must be one of {', '.join(self.choices)}"

    def schema(self) -> dict:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True)
class Coins(Kind):
    """A whole number of coins from 0 to max, where max is all nines (9999999999): so the
    rule is "1 to len(max) digits" and the Hive type decimal(len(max),0). A client may send
    it as text or, in POST /events, as a JSON integer; Kafka gets a JSON integer."""

    max: int
    json_type = "BIGINT"
    json_type_name = "integer"

    @property
    def digits(self) -> int:
        return len(str(self.max))

    @property
    def hive_type(self) -> str:
        return f"decimal({self.digits},0)"

    @cached_property
    def pattern(self) -> str:
        return "[0-9]{1,%d}" % self.digits

    def wire_spec(self) -> list[str]:
        return ["coins", str(self.digits)]  # a JSON integer without leading zeros

    def message(self, name: str) -> str:
        return f"{name} must be a whole number of coins from 0 to {self.max}"

    def schema(self) -> dict:
        return {"type": "string", "pattern": f"^{self.pattern}$", "description": f"whole coins, 0 to {self.max}"}

    def batch_schema(self) -> dict:
        return {"oneOf": [self.schema(), {"type": "integer", "minimum": 0, "maximum": self.max}]}

    def text_of(self, value) -> str | None:
        # bool is a subclass of int, but true is not a number of coins.
        return str(value) if type(value) is int else super().text_of(value)

    def wrong_json_type(self, name: str) -> str:
        return self.message(name)

    def convert(self, text: str) -> int:
        return int(text)


@dataclass(frozen=True)
class Uuid(Kind):
    """A UUID in its canonical text form: 8-4-4-4-12 hex digits, lowercase only, so that one
    id has one spelling (RFC 9562 reads either case; an id compared as text must not). Any
    version: a client may choose its own ids (a v7's time order, say)."""

    @cached_property
    def pattern(self) -> str:
        return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def wire_spec(self) -> list[str]:
        return ["uuid"]  # a JSON string of 36 characters, nothing escaped

    def message(self, name: str) -> str:
        return f"{name} must be a UUID in canonical form: 8-4-4-4-12 lowercase hex digits"

    def schema(self) -> dict:
        return {"type": "string", "format": "uuid", "pattern": f"^{self.pattern}$"}
