"""Freshness: seconds from a 2xx reply of the API to the event's row being visible in
Presto, under a steady load, through the running stream (its 10 s trigger). Each event
has its own user name; a poller asks Presto which of them are visible every POLL_S. A
row counts as visible at the start of the first query that returned it; the queries'
own times are reported apart. It measures the steady state: the same load first runs for
WARMUP_S, until the stream has landed it, so a stream that has just started (its first
batch takes some 15 s while its JVM warms up) is not counted.

    python -m bench.freshness --seconds 120 --rate 50
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import requests

from bench import common
from game_events import presto, settings

POLL_S = 0.5
WARMUP_S = 30


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def send(tag: str, seconds: float, rate: float, replied: dict) -> None:
    """get_paid events at a steady rate, each with its own user f<i>-<tag>; replied gets
    each 2xx's time."""
    http, i, t0 = requests.Session(), 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        user = f"f{i}-{tag}"
        if http.get(f"{common.API}/get_paid", params={"user": user, "amount": "1"}, timeout=10).ok:
            replied[user] = time.monotonic()
        i += 1
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))  # a steady rate, not a burst


def warm_up(seconds: float, rate: float) -> None:
    t, replied = common.tag(), {}
    send(t, seconds, rate, replied)
    deadline = time.monotonic() + 180
    while presto.scalar(f"select count(*) from {settings.EVENTS_TABLE} where user like '%-{t}'") < len(replied):
        if time.monotonic() > deadline:
            raise SystemExit("error: the stream did not land the freshness warm-up's events within 180 s")
        time.sleep(POLL_S)


def run(seconds: float, rate: float) -> dict:
    warmup_s = min(WARMUP_S, seconds)
    warm_up(warmup_s, rate)
    t, replied, seen, query_s = common.tag(), {}, {}, []
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            # A row was visible when the query that first returned it started: the query's
            # own time is reported apart, so a slow query does not count as staleness.
            started = time.monotonic()
            rows = presto.rows(f"select user from {settings.EVENTS_TABLE} where user like '%-{t}'")
            query_s.append(time.monotonic() - started)
            for (user,) in rows:
                seen.setdefault(user, started)
            time.sleep(POLL_S)

    threads = [threading.Thread(target=send, args=(t, seconds, rate, replied)),
               threading.Thread(target=poller, daemon=True)]
    for th in threads:
        th.start()
    threads[0].join()
    deadline = time.monotonic() + 90
    while set(replied) - set(seen) and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    lag = [seen[u] - replied[u] for u in replied if u in seen]
    return common.save("freshness", {
        "seconds": seconds, "warmup_s": warmup_s, "rate": rate, "replied_2xx": len(replied),
        "visible": len(lag),
        "p50_s": round(statistics.median(lag), 2), "p95_s": round(percentile(lag, 95), 2),
        "max_s": round(max(lag), 2), "poll_interval_s": POLL_S, "trigger": settings.TRIGGER,
        "queries": len(query_s), "query_p50_s": round(statistics.median(query_s), 3),
        "query_p95_s": round(percentile(query_s, 95), 3), "query_max_s": round(max(query_s), 3)})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=120, help="how long to send")
    ap.add_argument("--rate", type=float, default=50, help="events per second")
    args = ap.parse_args()
    run(args.seconds, args.rate)


if __name__ == "__main__":
    main()
