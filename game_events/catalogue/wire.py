"""The form events take in Kafka: what the API writes (encode) and the regular expression
that recognises exactly that form (wire_pattern), the stream's fast path."""
from __future__ import annotations

import itertools
import json
import re

import orjson

from game_events.catalogue.events import EVENTS, HEADERS, MAX_HEADER


def encode(body: dict) -> bytes:
    """An event as it is written to Kafka: compact JSON in the order the API builds it,
    headers first. The stream recognises exactly this form cheaply (wire_pattern)."""
    # orjson is ten times faster, and where its output is printable ASCII it is what
    # json.dumps writes, byte for byte; json.dumps escapes anything else (non-ASCII, DEL) as
    # \uXXXX where orjson writes it raw, so such an event keeps json's form
    # (tests/unit/test_catalogue.py compares the two).
    out = orjson.dumps(body)
    return out if _PRINTABLE_ASCII.fullmatch(out) else json.dumps(body, separators=(",", ":")).encode()


_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")


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
            parts += [f'"{p.name}":' + (f'"{re.escape(fixed[p.name])}"' if p.name in fixed else p.kind.wire_pattern)
                      for p in ev.params]
            parts += [f'"{d.name}":{d.value(fixed)}' for d in ev.derived]
            alts.append(",".join(parts))
    headers = ",".join(f'"{h}":{header}' for h, _ in HEADERS)
    return "^\\{" + headers + ',"event_type":(' + "|".join(alts) + ")\\}$"
