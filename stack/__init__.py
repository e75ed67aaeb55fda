"""The launcher of the local stack: Kafka, HDFS, a Hive metastore, Presto and, on demand,
the game API and the streaming job, each run as a local process: one node per engine
(the local profile), or several (the cluster profile, settings.PROFILE).

Run it as `python -m stack <command>` from the repository root (cli.py lists the
commands). It reads every endpoint and path from game_events.settings and talks to the
engines through the package's clients; the game_events package never imports it.

    services.py   the table of services and groups (add a service here: one row)
    commands.py   how each engine's command line is built, and its first-run steps
    probes.py     readiness: one real protocol call per service
    processes.py  pid files, start and stop, the foreground supervisor of containers
    render.py     config files from stack/templates and settings, and settings for bin/
    profile.py    which profile a command acts on: STACK_PROFILE, else the running one
    status.py     the status table, counters and the stream's lag
    cli.py        the command line, apart from the rest
"""


class StackError(Exception):
    """A bad setup, reported as one plain line."""
