"""The one Presto client: PyHive underneath, as a data scientist would use it, with every
query bounded by a deadline (settings.PRESTO_TIMEOUT_S unless the caller gives one).

PyHive polls for results every poll_interval seconds (1 by default, which would round
every query up to the next second); here every POLL_S.
"""
from __future__ import annotations

import time

from game_events import settings

POLL_S = 0.05


def query(sql: str, timeout: float | None = None, user: str = "game_events") -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one statement; TimeoutError (and the query cancelled) if
    Presto has not finished it within timeout seconds."""
    from pyhive.exc import DatabaseError

    timeout = settings.PRESTO_TIMEOUT_S if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _query(sql, timeout, deadline, user)
        except DatabaseError as e:
            # For a few seconds after Presto starts, `select 1` (its readiness probe) works
            # but the hive connector has no node to scan on yet: that one error is retried.
            if "NO_NODES_AVAILABLE" not in str(e) or time.monotonic() + 0.5 > deadline:
                raise
            time.sleep(0.5)


def _query(sql: str, timeout: float, deadline: float, user: str) -> tuple[list[str], list[tuple]]:
    from pyhive import presto

    conn = presto.connect(host=settings.PRESTO_HOST, port=settings.PRESTO_PORT, catalog="hive", schema="default",
                          username=user, poll_interval=POLL_S, requests_kwargs={"timeout": timeout})
    try:
        cur = conn.cursor()
        cur.execute(sql)
        while cur.poll() is not None:  # None: finished, every row received
            if time.monotonic() > deadline:
                try:
                    cur.cancel()
                except Exception:  # best effort: the timeout is what the caller needs to hear
                    pass
                raise TimeoutError(f"presto did not answer within {timeout}s: {sql[:200]}")
            time.sleep(POLL_S)
        data = cur.fetchall()
        return [d[0] for d in cur.description or []], data
    finally:
        conn.close()


def rows(sql: str, timeout: float | None = None) -> list[tuple]:
    return query(sql, timeout)[1]


def scalar(sql: str, timeout: float | None = None):
    """The one value of a one-row, one-column answer (count(*) and the like)."""
    ((value,),) = rows(sql, timeout)
    return value
