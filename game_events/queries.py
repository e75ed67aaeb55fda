"""The demo's analytics questions, as Presto SQL over hive_events, and how to ask them."""
from game_events import config


def query(sql: str) -> tuple[list[str], list]:
    """Column names and rows, through PyHive as a data scientist would."""
    from pyhive import presto

    conn = presto.connect(host=config.PRESTO_HOST, port=config.PRESTO_PORT, catalog="hive", schema="default",
                          username="game_events")
    try:
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
        return [d[0] for d in cur.description], rows
    finally:
        conn.close()


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
