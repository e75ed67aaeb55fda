"""The report's numbers worked out in plain Python from its seeded requests, without its
SQL: what each table of report.md must say, with the prices and fee pinned by hand."""
from __future__ import annotations

from collections import Counter, defaultdict

from tests.support.data import GUILD_FEE, ROUTES, SWORD_PRICES


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
