"""The form events take in Kafka: what the API writes (encode) and the regular expression
that describes exactly that form (wire_spec), for the stream's fast path."""
from __future__ import annotations

import json
import re

import orjson

from game_events.catalogue.events import EVENT_ID, EVENTS, HEADERS, MAX_HEADER, Param


def encode(body: dict) -> bytes:
    """An event as it is written to Kafka: compact JSON in the order the API builds it
    (catalogue.record: the id, the headers, the body). The stream recognises exactly this
    form cheaply (wire_spec)."""
    # orjson is ten times faster, and where its output is printable ASCII it is what
    # json.dumps writes, byte for byte; json.dumps escapes anything else (non-ASCII, DEL) as
    # \uXXXX where orjson writes it raw, so such an event keeps json's form
    # (tests/unit/test_catalogue.py compares the two).
    out = orjson.dumps(body)
    return out if _PRINTABLE_ASCII.fullmatch(out) else json.dumps(body, separators=(",", ":")).encode()


_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")


def _field_line(p: Param) -> list[str]:
    word, *bounds = p.kind.wire_spec()
    return [word, p.name, *bounds]


def wire_spec() -> str:
    """What encode() makes of a valid event from the API, for the stream's parser of that
    form (game_events/stream/java/ApiForm.java, where the words are explained): keys in
    order, nothing escaped, a derived value given with the choice it is looked up by. A
    record in this form skips the stream's per-field rules; anything else (other key orders,
    escapes, spaces, no event_id) still gets every rule. The parsers' struct has a column
    for the id too, which hive_events has not: the landing leaves it out."""
    kinds = {f.name: f.kind for e in EVENTS.values() for f in e.columns}
    lines = [["column", EVENT_ID.name, EVENT_ID.kind.hive_type]]
    lines += [["column", column, "string"] for _, column in HEADERS] + [["column", "event_type", "string"]]
    lines += [["column", name, kind.hive_type] for name, kind in kinds.items()]
    lines.append(_field_line(EVENT_ID))
    lines += [["header", h, column, str(MAX_HEADER)] for h, column in HEADERS]
    for ev in EVENTS.values():
        lines.append(["event", ev.event_type])
        lines += [_field_line(p) for p in ev.params]
        for d in ev.derived:
            lines.append(["constant", d.name, str(d.constant)] if d.table is None
                         else ["lookup", d.name, d.key, *(f"{k}={v}" for k, v in d.table.items())])
    return "\n".join("\t".join(words) for words in lines)
