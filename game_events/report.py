"""`make report`: regenerates report.md and its plots from live Presto queries.

It sends a fixed, seeded event mix through the real API, waits for the stream to land it,
then asks Presto each question of the report. Every query is restricted to this run's
events (their users carry the run's tag), so the numbers depend only on the seed, not on
whatever else the table holds. tests/test_report.py re-runs each query and checks the
report's numbers.
"""
from __future__ import annotations

import random
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "stack"))
import stackctl  # noqa: E402

from game_events import catalogue  # noqa: E402
from game_events.queries import query  # noqa: E402

SEED = 205
EVENTS = 600
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
GUILDS = ["knights", "wizards"]
HOSTS = ["user1.comcast.com", "user2.att.com", "user3.verizon.com"]
AGENTS = ["ApacheBench/2.3", "GameClient/1.4 (Android)", "GameClient/1.4 (iOS)"]


def seeded_requests(seed: int = SEED, n: int = EVENTS):
    """(route, params, headers) for the fixed mix: same seed, same events."""
    rng = random.Random(seed)
    member: dict[str, str | None] = {u: None for u in USERS}
    for _ in range(n):
        user = rng.choice(USERS)
        headers = {"Host": rng.choice(HOSTS), "User-Agent": rng.choice(AGENTS), "Accept": "*/*"}
        kind = rng.choices(["sword", "guild", "paid", "default"], weights=[4, 2, 4, 1])[0]
        if kind == "sword":
            yield "/purchase_a_sword", {"user": user, "type": rng.choice(list(catalogue.SWORD_PRICES))}, headers
        elif kind == "guild" and member[user] is None:
            member[user] = rng.choice(GUILDS)
            yield "/join_a_guild", {"user": user, "name": member[user]}, headers
        elif kind == "guild":
            yield "/quit_guild", {"user": user, "name": member[user]}, headers
            member[user] = None
        elif kind == "paid":
            yield "/get_paid", {"user": user, "amount": str(rng.choice([10, 25, 50, 100, 250]) * rng.randint(1, 4))}, headers
        else:
            yield "/", {}, headers


def sections(tag: str) -> list[tuple[str, str, str]]:
    """(title, text, sql) for each question; {mine} restricts a query to this run."""
    mine = f"user like '%-{tag}'"
    u = f"regexp_replace(user, '-{tag}$', '')"
    return [
        ("Events per type", "What the players did, by event type (the `default` events are filtered out "
         "by the stream).",
         f"select event_type, count(*) as events from hive_events where {mine} group by 1 order by 1"),
        ("Guild membership", "Joins, quits and current members per guild.",
         f"""select name as guild, count_if(event_type = 'join_a_guild') as joins,
       count_if(event_type = 'quit_guild') as quits,
       count_if(event_type = 'join_a_guild') - count_if(event_type = 'quit_guild') as members
from hive_events where {mine} and event_type in ('join_a_guild', 'quit_guild')
group by 1 order by 1"""),
        ("Guild membership over time", "Members per guild at the end of each second of the run (the mix is sent "
         "in a few seconds; real traffic would use hours).",
         f"""select guild, second, sum(delta) over (partition by guild order by second) as members
from (select name as guild, substr(timestamp, 1, 19) as second,
             sum(case event_type when 'join_a_guild' then 1 else -1 end) as delta
      from hive_events where {mine} and event_type in ('join_a_guild', 'quit_guild')
      group by 1, 2)
order by 1, 2"""),
        ("Earnings per user", "Coins each player earned through `get_paid`.",
         f"""select {u} as user, count(*) as payments, sum(amount) as earned, max(amount) as largest
from hive_events where {mine} and event_type = 'get_paid' group by 1 order by earned desc, 1"""),
        ("Distribution of pay amounts", "How many payments of each size.",
         f"""select amount, count(*) as payments from hive_events
where {mine} and event_type = 'get_paid' group by 1 order by 1"""),
        ("Sword sales by type", "Swords sold and the coins they brought in.",
         f"""select type as sword, count(*) as sold, sum(price) as revenue from hive_events
where {mine} and event_type = 'purchase_sword' group by 1 order by revenue desc"""),
        ("Spending per user", "Coins each player spent on swords and guild fees.",
         f"""select {u} as user, sum(coalesce(price, 0)) as on_swords, sum(coalesce(fee, 0)) as on_fees,
       sum(coalesce(price, 0) + coalesce(fee, 0)) as spent
from hive_events where {mine} and event_type in ('purchase_sword', 'join_a_guild') group by 1 order by spent desc, 1"""),
        ("Activity per host and user agent", "Events by the `Host` and `User-Agent` headers of the requests.",
         f"""select host, user_agent, count(*) as events from hive_events where {mine}
group by 1, 2 order by 1, 2"""),
        ("Events per landed batch", "Each micro-batch lands as one file, `batch-<id>.parquet`; this shows "
         "the stream's cadence for this run.",
         f"""select regexp_extract("$path", 'batch-0*([0-9]+)', 1) as batch, count(*) as events,
       min(timestamp) as first_event, max(timestamp) as last_event
from hive_events where {mine} group by 1 order by cast(regexp_extract("$path", 'batch-0*([0-9]+)', 1) as bigint)"""),
    ]


def cell(v) -> str:
    return "" if v is None else str(v)


def md_table(names: list[str], rows: list) -> str:
    out = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def plot(title: str, names: list[str], rows: list, plots: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    if title == "Sword sales by type":
        ax.bar([r[0] for r in rows], [float(r[2]) for r in rows], color=["#d4af37", "#a8a9ad", "#cd7f32"][:len(rows)])
        ax.set_ylabel("revenue (coins)")
    elif title == "Distribution of pay amounts":
        ax.bar([str(r[0]) for r in rows], [r[1] for r in rows])
        ax.set_xlabel("amount (coins)")
        ax.set_ylabel("payments")
    elif title == "Guild membership over time":
        seconds = sorted({r[1] for r in rows})
        for guild in sorted({r[0] for r in rows}):
            pts = [(seconds.index(r[1]), r[2]) for r in rows if r[0] == guild]
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=guild)
        ax.set_xticks(range(len(seconds)), [t[14:] for t in seconds])
        ax.set_ylabel("members")
        ax.set_xlabel("minute:second (UTC)")
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend()
    elif title == "Earnings per user":
        ax.barh([r[0] for r in rows][::-1], [float(r[2]) for r in rows][::-1])
        ax.set_xlabel("coins earned")
    else:
        plt.close(fig)
        return None
    ax.set_title(title)
    fig.tight_layout()
    plots.mkdir(exist_ok=True)
    name = title.lower().replace(" ", "_") + ".png"
    fig.savefig(plots / name, dpi=90)
    plt.close(fig)
    return f"{plots.name}/{name}"


INTRO = """# Game events: analytics report

*Generated by `make report` on {date} from live Presto queries over `hive_events`, after a
fixed event mix (seed {seed}, {n} requests) sent through the API. Run tag: `{tag}`.*

## The pipeline

Players' devices call the game API (`game_api.py`, Flask). Each call is one event, which
the API writes to the Kafka topic `events` and acknowledges only once Kafka has stored it.
A Spark Structured Streaming job (`write_event_stream.py`) reads the topic, drops the
`default` events, parses the rest with Spark's own column expressions and, every 10
seconds, lands them as parquet in HDFS under `/tmp/game_events`, the location of the
external Hive table `hive_events` (`write_hive_table.py`). Records that are not valid
events go to `hive_bad_events` with a reason. The Hive metastore holds the schema and
Presto answers the questions below. Apache Bench (`generate_events.sh`) plays the players.

## The events

| event | route | fields | notes |
|---|---|---|---|
{events}

Every event also carries the request's `Accept`, `Host` and `User-Agent` headers (columns
`accept`, `host`, `user_agent`), `raw_event` (the JSON as stored in Kafka) and `timestamp`
(Kafka's timestamp, UTC).
"""

NOTES = {
    "default": "the API's root; filtered out by the stream",
    "purchase_sword": "price set by the server: " + ", ".join(f"{k} {v}" for k, v in catalogue.SWORD_PRICES.items()),
    "join_a_guild": f"fee of {catalogue.GUILD_FEE} set by the server",
    "quit_guild": "",
    "get_paid": f"amount: whole coins in [0, {catalogue.MAX_COINS}]",
}


def send_mix(tag: str) -> int:
    api = f"http://127.0.0.1:{stackctl.SETTINGS['API_PORT']}"
    landed = 0
    with requests.Session() as s:
        for route, params, headers in seeded_requests():
            if "user" in params:
                params = {**params, "user": f"{params['user']}-{tag}"}
            r = s.get(api + route, params=params, headers=headers, timeout=30)
            r.raise_for_status()
            landed += route != "/"
    return landed


def main(out: Path = ROOT / "report.md") -> int:
    plots = out.parent / "report"
    tag = "r" + uuid.uuid4().hex[:8]
    print(f"==> sending {EVENTS} seeded requests (seed {SEED}, tag {tag})", flush=True)
    expected = send_mix(tag)
    print(f"==> waiting for {expected} events to land", flush=True)
    t0 = time.monotonic()
    while stackctl.presto_query(f"select count(*) from hive_events where user like '%-{tag}'")[0][0] < expected:
        if time.monotonic() - t0 > 120:
            print("error: events did not land within 120s; is the stream running? (make stream)", file=sys.stderr)
            return 1
        time.sleep(1)
    events = "\n".join(
        f"| `{e.event_type}` | `{e.route}` | {', '.join(e.fields[1:]) or '-'} | {NOTES[e.event_type]} |"
        for e in catalogue.EVENTS.values())
    parts = [INTRO.format(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), seed=SEED, n=EVENTS, tag=tag,
                          events=events), "## Analysis\n"]
    for title, text, sql in sections(tag):
        print(f"==> {title}", flush=True)
        names, rows = query(sql)
        parts.append(f"### {title}\n\n{text}\n\n```sql\n{sql}\n```\n\n{md_table(names, rows)}\n")
        png = plot(title, names, rows, plots)
        if png:
            parts.append(f"![{title}]({png})\n")
    out.write_text("\n".join(parts))
    print(f"==> wrote {out} and {plots}/*.png", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(a).resolve() for a in sys.argv[1:2])))
