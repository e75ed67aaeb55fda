"""Kinds of bad records for the topic, each with the reason the stream must give.

Shared by the unit test of the parsing rules (local Spark) and the poison-record fault
test (the real stream). Each maker takes a sequence number so that every record differs.
"""
from __future__ import annotations

import json

from game_events import catalogue

HEADERS = {"Accept": "*/*", "Host": "localhost:5000", "User-Agent": "poison-test"}


def good(user: str, i: int) -> bytes:
    """A valid event as a producer other than the API might write it: with spaces and no
    event_id, so it lands through the stream's rules."""
    event = catalogue.EVENTS["get_paid"].build({"user": user, "amount": str(i)})
    return json.dumps({**HEADERS, **event}).encode()


def _event(**fields) -> bytes:
    return json.dumps({**HEADERS, **fields}).encode()


MEGABYTE = 1_000_000

# (kind, maker, reason the stream must give)
KINDS = [
    ("not JSON", lambda i: f"this is not json {i}".encode(), "not a JSON object"),
    ("truncated JSON", lambda i: _event(event_type="get_paid", user=f"t{i}", amount=i)[:-9], "not a JSON object"),
    ("JSON array", lambda i: json.dumps(["get_paid", i]).encode(), "not a JSON object"),
    ("JSON string", lambda i: json.dumps(f"get_paid {i}").encode(), "not a JSON object"),
    ("empty record", lambda i: b"", "not a JSON object"),
    ("tombstone (null value)", lambda i: None, "not a JSON object"),
    ("invalid UTF-8", lambda i: b'{"event_type":"get_paid","user":"u\xff\xfe%d","amount":1}' % i, "invalid UTF-8"),
    ("repeated field", lambda i: b'{"event_type":"get_paid","user":"u%d","amount":1,"amount":2}' % i,
     "not strict JSON (a repeated field name or a non-standard value)"),
    ("unknown event_type", lambda i: _event(event_type="summon_dragon", user=f"u{i}"),
     "unknown event_type: summon_dragon"),
    ("event_type null", lambda i: _event(event_type=None, user=f"u{i}", amount=1), "missing field event_type"),
    ("missing field", lambda i: _event(event_type="get_paid", user=f"u{i}"), "missing field amount"),
    ("amount as a string", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=str(i)),
     "field amount must be a JSON integer"),
    ("user as a number", lambda i: _event(event_type="join_a_guild", user=i, name="g", fee=5),
     "field user must be a JSON string"),
    ("user as an object", lambda i: _event(event_type="quit_guild", user={"id": i}, name="g"),
     "field user must be a JSON string"),
    ("negative amount", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=-i - 1), "invalid field amount"),
    ("huge amount", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=10**15 + i), "invalid field amount"),
    ("fractional amount", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=i + 0.5), "invalid field amount"),
    ("long user name", lambda i: _event(event_type="get_paid", user="x" * 10_000 + str(i), amount=1),
     "invalid field user"),
    ("control character", lambda i: _event(event_type="get_paid", user=f"u\x01{i}", amount=1), "invalid field user"),
    ("forged price", lambda i: _event(event_type="purchase_sword", user=f"u{i}", type="gold", price=0),
     "invalid field price"),
    ("price as a string", lambda i: _event(event_type="purchase_sword", user=f"u{i}", type="gold", price="15"),
     "field price must be a JSON integer"),
    ("field of another event", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=1, fee=5),
     "unexpected field fee for get_paid"),
    ("unknown field", lambda i: _event(event_type="get_paid", user=f"u{i}", amount=1, admin=True),
     "unknown field: admin"),
    ("event_id not a UUID", lambda i: _event(event_id=f"event-{i}", event_type="get_paid", user=f"u{i}", amount=1),
     "invalid field event_id"),
    ("header as a number", lambda i: json.dumps({"event_type": "get_paid", "user": f"u{i}", "amount": 1,
                                                 "Host": i}).encode(),
     "field Host must be a JSON string or null"),
    ("1 MB payload", lambda i: _event(event_type="get_paid", user="x" * MEGABYTE + str(i), amount=1),
     "invalid field user"),
]
