"""The seed's facts (tests/data) and expectations written by hand, not derived from the
code under test: a wrong price in the catalogue must fail a test, not move its target."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parent.parent / "data"

# The seed's game, by hand: routes, prices and fees.
ROUTES = {"/": "default", "/purchase_a_sword": "purchase_sword", "/join_a_guild": "join_a_guild",
          "/quit_guild": "quit_guild", "/get_paid": "get_paid"}
ROUTE_PARAMS = {"/": [], "/purchase_a_sword": ["user", "type"], "/join_a_guild": ["user", "name"],
                "/quit_guild": ["user", "name"], "/get_paid": ["user", "amount"]}
SWORD_PRICES = {"gold": 15, "silver": 10, "bronze": 5}
GUILD_FEE = 5


def seed_describe_table() -> list[tuple[str, str]]:
    """(column, Presto type) of `describe hive_events`, as the seed printed it."""
    lines = (DATA / "hive_events.describe.txt").read_text().splitlines()
    return [(c.strip(), t.strip()) for c, t, *_ in (ln.split("|") for ln in lines[2:] if "|" in ln)]


def seed_walkthrough() -> list[str]:
    """The seed's commands, in order."""
    return [ln for ln in (DATA / "seed_walkthrough.txt").read_text().splitlines() if ln.strip()]


def expected_event(event_type: str, params: dict[str, str]) -> dict:
    """The fields the stream must land for a request with these query parameters (None
    where the event has no such field), with the seed's prices and fee pinned by hand."""
    row = {"event_type": event_type, "user": params["user"],
           **dict.fromkeys(("type", "price", "fee", "name", "amount"))}
    if event_type == "purchase_sword":
        row.update(type=params["type"], price=SWORD_PRICES[params["type"]])
    elif event_type == "join_a_guild":
        row.update(name=params["name"], fee=GUILD_FEE)
    elif event_type == "quit_guild":
        row.update(name=params["name"])
    elif event_type == "get_paid":
        row.update(amount=int(params["amount"]))
    else:
        raise AssertionError(f"no landable event {event_type}")
    return row


def sent_by_generate_events(output: str):
    """(event_type, params, host, count answered 2xx) for each line generate_events.sh printed."""
    for line in output.splitlines()[1:]:
        m = re.match(r"(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)$", line)
        if m:
            url = urlsplit(m[5])
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            yield ROUTES[url.path], params, m[4], int(m[2])


def mixed_batch(tag: str, n: int) -> list[dict]:
    """n elements for POST /events, cycling through every event type."""
    kinds = [
        lambda i: {"event_type": "purchase_sword", "user": f"u{i}-{tag}", "type": ("gold", "silver", "bronze")[i % 3]},
        lambda i: {"event_type": "join_a_guild", "user": f"u{i}-{tag}", "name": "knights"},
        lambda i: {"event_type": "quit_guild", "user": f"u{i}-{tag}", "name": "knights"},
        lambda i: {"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i},
        lambda i: {"event_type": "default"},
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]
