"""The report's fixed, seeded event mix: same seed, same requests, so the report's numbers
(and the tests' expectations, worked out from this mix independently of the report's
SQL) depend only on the seed."""
from __future__ import annotations

import random

from game_events import catalogue

SEED = 205
EVENTS = 600
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
GUILDS = ["knights", "wizards"]
HOSTS = ["user1.comcast.com", "user2.att.com", "user3.verizon.com"]
AGENTS = ["ApacheBench/2.3", "GameClient/1.4 (Android)", "GameClient/1.4 (iOS)"]
PAY = [10, 25, 50, 100, 250]  # times 1 to 4
# Every tenth event that lands is sent a second time with the id the API's reply named, as a
# client does whose reply was lost: the report shows each id landed once.
RETRY_EVERY = 10


def route(event_type: str) -> str:
    return catalogue.EVENTS[event_type].route


def seeded_requests(seed: int = SEED, n: int = EVENTS):
    """(route, params, headers) for the fixed mix: same seed, same events. A player joins a
    guild only when in none, and quits the one they are in."""
    rng = random.Random(seed)
    member: dict[str, str | None] = {u: None for u in USERS}
    for _ in range(n):
        user = rng.choice(USERS)
        headers = {"Host": rng.choice(HOSTS), "User-Agent": rng.choice(AGENTS), "Accept": "*/*"}
        what = rng.choices(["sword", "guild", "paid", "default"], weights=[4, 2, 4, 1])[0]
        if what == "sword":
            yield route("purchase_sword"), {"user": user, "type": rng.choice(list(catalogue.SWORD_PRICES))}, headers
        elif what == "guild" and member[user] is None:
            member[user] = rng.choice(GUILDS)
            yield route("join_a_guild"), {"user": user, "name": member[user]}, headers
        elif what == "guild":
            yield route("quit_guild"), {"user": user, "name": member[user]}, headers
            member[user] = None
        elif what == "paid":
            yield route("get_paid"), {"user": user, "amount": str(rng.choice(PAY) * rng.randint(1, 4))}, headers
        else:
            yield route("default"), {}, headers
