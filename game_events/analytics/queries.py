"""The analytics questions, each written once as Presto SQL over hive_events: the report
asks them all, the demo some of them. Adding a question means adding one Question here.

A question's SQL can be restricted to one run's events (their users carry the run's tag,
`<user>-<tag>`): `{where}` becomes that restriction and `{user}` the user name without the
tag; unrestricted, they ask about the whole table.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plot:
    """How the report draws an answer: bars of column y by column x ("bar"; "barh" lays
    them down), or one step line of y per value of column `series` ("step", x a second)."""

    style: str
    x: int
    y: int
    xlabel: str = ""
    ylabel: str = ""
    series: int | None = None
    colors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    title: str
    text: str
    template: str
    plot: Plot | None = None
    in_demo: bool = False

    def sql(self, tag: str | None = None) -> str:
        """The SQL, restricted to the events of the run tagged `tag` (None: every event)."""
        if tag is None:
            return self.template.format(where="true", user="user")
        return self.template.format(where=f"user like '%-{tag}'", user=f"regexp_replace(user, '-{tag}$', '')")


QUESTIONS = (
    Question("Events per type", "What the players did, by event type (the `default` events are filtered out "
             "by the stream).",
             "select event_type, count(*) as events from hive_events where {where} group by 1 order by 1",
             in_demo=True),
    Question("Guild membership", "Joins, quits and current members per guild.",
             """select name as guild, count_if(event_type = 'join_a_guild') as joins,
       count_if(event_type = 'quit_guild') as quits,
       count_if(event_type = 'join_a_guild') - count_if(event_type = 'quit_guild') as members
from hive_events where {where} and event_type in ('join_a_guild', 'quit_guild')
group by 1 order by 1""", in_demo=True),
    Question("Guild membership over time", "Members per guild over the run, after the joins and quits up to "
             "each second shown. A run of up to five minutes shows every second with a change; a longer one is "
             "cut into 300 equal intervals, each shown at its last change, so the answer stays a plot's size.",
             # The width comes from window functions over the per-second rows, not a second
             # WITH query: Presto would scan the table again for it (6.1 -> 2.9 s, 10 M events).
             """select guild, max(second) as second,
       sum(sum(delta)) over (partition by guild order by max(second)) as members
from (select guild, second, delta,
             floor((t - min(t) over ()) / greatest(1, ceil((max(t) over () - min(t) over () + 1) / 300))) as step
      from (select guild, second, delta, to_unixtime(date_parse(second, '%Y-%m-%d %H:%i:%s')) as t
            from (select name as guild, substr(timestamp, 1, 19) as second,
                         sum(case event_type when 'join_a_guild' then 1 else -1 end) as delta
                  from hive_events where {where} and event_type in ('join_a_guild', 'quit_guild')
                  group by 1, 2)))
group by guild, step
order by 1, 2""", Plot("step", x=1, y=2, series=0, xlabel="time (UTC)", ylabel="members")),
    Question("Earnings per user", "Coins each player earned through `get_paid`.",
             """select {user} as user, count(*) as payments, sum(amount) as earned, max(amount) as largest
from hive_events where {where} and event_type = 'get_paid' group by 1 order by earned desc, 1""",
             Plot("barh", x=0, y=2, xlabel="coins earned"), in_demo=True),
    Question("Distribution of pay amounts", "How many payments of each size.",
             """select amount, count(*) as payments from hive_events
where {where} and event_type = 'get_paid' group by 1 order by 1""",
             Plot("bar", x=0, y=1, xlabel="amount (coins)", ylabel="payments")),
    Question("Sword sales by type", "Swords sold and the coins they brought in.",
             """select type as sword, count(*) as sold, sum(price) as revenue from hive_events
where {where} and event_type = 'purchase_sword' group by 1 order by revenue desc""",
             Plot("bar", x=0, y=2, ylabel="revenue (coins)", colors=("#d4af37", "#a8a9ad", "#cd7f32")),
             in_demo=True),
    Question("Spending per user", "Coins each player spent on swords and guild fees.",
             # Each sum over the column, null-free, then added: an addition per user, not per
             # row (2.8 -> 2.2 s over 10 M events). Coins are whole numbers, so the sums are
             # bigint, not Presto's 128-bit decimals (2.8 -> 2.4 s over 10 M events, A/B).
             """select {user} as user, coalesce(sum(cast(price as bigint)), 0) as on_swords,
       coalesce(sum(cast(fee as bigint)), 0) as on_fees,
       coalesce(sum(cast(price as bigint)), 0) + coalesce(sum(cast(fee as bigint)), 0) as spent
from hive_events where {where} and event_type in ('purchase_sword', 'join_a_guild') group by 1 order by spent desc, 1"""),
    Question("Activity per host and user agent", "Events by the `Host` and `User-Agent` headers of the requests.",
             """select host, user_agent, count(*) as events from hive_events where {where}
group by 1, 2 order by 1, 2"""),
    Question("Events per landed batch", "Each micro-batch lands as one file, `batch-<id>.parquet`; this shows "
             "the stream's cadence for this run.",
             """select regexp_extract("$path", 'batch-0*([0-9]+)', 1) as batch, count(*) as events,
       min(timestamp) as first_event, max(timestamp) as last_event
from hive_events where {where} group by 1 order by cast(regexp_extract("$path", 'batch-0*([0-9]+)', 1) as bigint)"""),
    Question("Events and their ids", "Rows landed against distinct `event_id`s: equal when no retry of an "
             "event landed twice (README, \"Retries and duplicates\").",
             """select count(*) as events, count(distinct json_extract_scalar(raw_event, '$.event_id')) as event_ids
from hive_events where {where}"""),
)


def count_sql(tag: str | None = None) -> str:
    """How many events have landed (of the run tagged `tag`, or in all)."""
    return "select count(*) from hive_events" + ("" if tag is None else f" where user like '%-{tag}'")
