"""The report's numbers worked out in plain Python, without its SQL: what each table of
report.md must say, from its seeded requests (with the prices and fee pinned by hand)
and, for the two tables that depend on when events landed, from the landed rows' own
timestamps and files."""
from __future__ import annotations

import calendar
import re
import time
from collections import Counter, defaultdict

from tests.support.data import GUILD_FEE, ROUTES, SWORD_PRICES

POINTS = 300  # "Guild membership over time": a longer run is cut into this many intervals


def landed_events(seeded) -> list[tuple[str, dict, dict]]:
    """(event_type, params, headers) for each seeded request the stream lands."""
    return [(ROUTES[route], params, headers) for route, params, headers in seeded if route != "/"]


def by_user_desc(totals: dict[str, tuple], key: int) -> list[tuple]:
    """Rows (user, *totals) ordered by totals[key] descending, then user."""
    return sorted(((u, *t) for u, t in totals.items()), key=lambda r: (-r[key + 1], r[0]))


def expected_tables(seeded) -> dict[str, list[tuple]]:
    """Title -> rows, for the report's tables that depend only on the mix (not on when
    the events landed), each row as the report orders it."""
    events = landed_events(seeded)
    types = Counter(t for t, _, _ in events)
    joins = Counter(p["name"] for t, p, _ in events if t == "join_a_guild")
    quits = Counter(p["name"] for t, p, _ in events if t == "quit_guild")
    pay: dict[str, list[int]] = defaultdict(list)
    swords: dict[str, list[int]] = defaultdict(list)
    spend: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t, p, _ in events:
        if t == "get_paid":
            pay[p["user"]].append(int(p["amount"]))
        elif t == "purchase_sword":
            swords[p["type"]].append(SWORD_PRICES[p["type"]])
            spend[p["user"]][0] += SWORD_PRICES[p["type"]]
        elif t == "join_a_guild":
            spend[p["user"]][1] += GUILD_FEE
    amounts = Counter(a for paid in pay.values() for a in paid)
    return {
        "Events per type": sorted(types.items()),
        "Guild membership": [(g, joins[g], quits[g], joins[g] - quits[g]) for g in sorted(joins | quits)],
        "Earnings per user": by_user_desc({u: (len(a), sum(a), max(a)) for u, a in pay.items()}, 1),
        "Distribution of pay amounts": sorted(amounts.items()),
        "Sword sales by type": sorted(((s, len(p), sum(p)) for s, p in swords.items()), key=lambda r: -r[2]),
        "Spending per user": by_user_desc({u: (s, f, s + f) for u, (s, f) in spend.items()}, 2),
        "Activity per host and user agent": sorted(
            (h, a, n) for (h, a), n in Counter((hd["Host"], hd["User-Agent"]) for _, _, hd in events).items()),
    }


def members_at_the_end(seeded) -> dict[str, int]:
    """Members of each guild once the whole mix is in."""
    return {g: members for g, _, _, members in expected_tables(seeded)["Guild membership"]}


def membership_over_time(changes) -> list[tuple[str, str, int]]:
    """(guild, second, members) rows of "Guild membership over time", ordered by guild and
    second, from each landed join or quit as (guild, event_type, timestamp). The report's
    rule: each guild's joins minus quits per second ('YYYY-MM-DD hh:mm:ss', the
    timestamp's first 19 characters; a second whose joins and quits cancel out is still a
    point); the seconds from the first to the last change of either guild, cut into
    intervals of ceil(span / 300) seconds (at least 1) counted from the first change; one
    point per guild and interval, at its last second, with the members after it."""
    delta: dict[tuple[str, str], int] = defaultdict(int)
    for guild, event_type, timestamp in changes:
        delta[guild, timestamp[:19]] += 1 if event_type == "join_a_guild" else -1
    if not delta:
        return []
    t = {s: calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S")) for _, s in delta}
    first, last = min(t.values()), max(t.values())
    width = max(1, -(-(last - first + 1) // POINTS))
    points: dict[tuple[str, int], list] = {}  # (guild, interval) -> [its last second, its change]
    for (guild, second), d in delta.items():
        point = points.setdefault((guild, (t[second] - first) // width), [second, 0])
        point[0], point[1] = max(point[0], second), point[1] + d
    rows, members = [], Counter()
    for (guild, _), (second, d) in sorted(points.items(), key=lambda kv: (kv[0][0], kv[1][0])):
        members[guild] += d
        rows.append((guild, second, members[guild]))
    return rows


def events_per_batch(landed) -> list[tuple]:
    """(batch, events, first_event, last_event) rows of "Events per landed batch", from
    each landed event as (file path, timestamp): the batch id is the number after
    'batch-' in its file's name, without leading zeros (None for another file), ordered by
    that number, files of no batch last."""
    stamps: dict[str | None, list[str]] = defaultdict(list)
    for path, timestamp in landed:
        m = re.search(r"batch-0*([0-9]+)", path)
        stamps[m[1] if m else None].append(timestamp)
    order = sorted(stamps, key=lambda b: (b is None, int(b or 0)))
    return [(b, len(stamps[b]), min(stamps[b]), max(stamps[b])) for b in order]
