"""The analytics questions, as Presto SQL over hive_events. Used by `make demo` and the report."""

QUERIES = {
    "events per type": """
        select event_type, count(*) as events
        from hive_events group by event_type order by event_type""",
    "guild membership": """
        select name as guild,
               count_if(event_type = 'join_a_guild') as joins,
               count_if(event_type = 'quit_guild') as quits,
               count_if(event_type = 'join_a_guild') - count_if(event_type = 'quit_guild') as members
        from hive_events where event_type in ('join_a_guild', 'quit_guild')
        group by name order by name""",
    "earnings per user": """
        select user, count(*) as payments, sum(amount) as earned
        from hive_events where event_type = 'get_paid'
        group by user order by earned desc, user""",
    "sword sales by type": """
        select type as sword, count(*) as sold, sum(price) as revenue
        from hive_events where event_type = 'purchase_sword'
        group by type order by revenue desc""",
}
