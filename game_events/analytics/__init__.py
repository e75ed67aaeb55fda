"""Answers from the landed events: the questions (SQL once), the report and the demo.
Both entry points expect the pipeline to be up; neither starts anything.

    queries.py      the questions, as Presto SQL over hive_events
    mix.py          the report's seeded event mix
    formatting.py   the one table helper
    report.py       python -m game_events.analytics.report
    demo.py         python -m game_events.analytics.demo
"""
