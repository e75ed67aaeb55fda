"""Steady load on the API for the fault tests, and the audit that follows each fault:
every request the API acknowledged must land exactly once, and nothing else."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import requests

from game_events import catalogue, settings
from tests.support.engines import caught_up, presto_rows
from tests.support.figures import record_figure
from tests.support.waits import wait_for

LANDABLE = [e for e in catalogue.EVENTS.values() if e.event_type not in catalogue.IGNORED_EVENT_TYPES]
SAMPLE = {"type": "silver", "name": "knights", "amount": "7"}


def request_for(i: int, user: str):
    """The i-th request of the landable mix: (event, its query parameters)."""
    event = LANDABLE[i % len(LANDABLE)]
    return event, {p.name: user if p.name == "user" else SAMPLE[p.name] for p in event.params}


@dataclass
class Sent:
    user: str
    event_type: str
    status: int  # 0: no HTTP answer at all
    t_sent: float
    t_done: float


class Load:
    """Steady load on the API: `threads` clients, each sending one request after another,
    every request with its own user name so that Presto can tell them apart."""

    def __init__(self, tag: str, threads: int = 6, pause: float = 0.02):
        self.tag, self.threads, self.pause = tag, threads, pause
        self.sent: list[Sent] = []
        self._seq = iter(range(10**9))
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _client(self):
        session = requests.Session()
        while not self._stop.is_set():
            with self._lock:
                seq = next(self._seq)
            user = f"u{seq}-{self.tag}"
            event, params = request_for(seq, user)
            t0 = time.monotonic()
            try:
                status = session.get(settings.API_URL + event.route, params=params, timeout=20).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                self.sent.append(Sent(user, event.event_type, status, t0, time.monotonic()))
            time.sleep(self.pause)

    def __enter__(self):
        self._workers = [threading.Thread(target=self._client, daemon=True) for _ in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for w in self._workers:
            w.join(30)

    def answered(self, status: int = 200, after: float = 0.0) -> int:
        """How many requests sent after `after` (monotonic time) got `status`."""
        with self._lock:
            return sum(1 for s in self.sent if s.status == status and s.t_sent > after)

    def wait_answered(self, n: int, status: int = 200, after: float = 0.0, timeout: float = 60) -> None:
        wait_for(lambda: self.answered(status, after) >= n, timeout, interval=0.1,
                 what=f"{n} requests answered {status}")

    def first_success_after(self, t: float) -> float | None:
        with self._lock:
            done = [s.t_done for s in self.sent if s.status == 200 and s.t_done >= t]
        return min(done) - t if done else None


def send(tag: str, n: int, prefix: str) -> list[Sent]:
    """n requests of the landable mix, one after another."""
    out = []
    for i in range(n):
        user = f"{prefix}{i}-{tag}"
        event, params = request_for(i, user)
        t0 = time.monotonic()
        r = requests.get(settings.API_URL + event.route, params=params, timeout=20)
        out.append(Sent(user, event.event_type, r.status_code, t0, time.monotonic()))
    return out


def audit(tag: str, sent: list[Sent], name: str) -> dict:
    """Waits for the stream to catch up, then compares what the API answered with what
    Presto sees: every 2xx exactly once, nothing that was never sent."""
    wait_for(caught_up, 300, interval=2, what="the stream to catch up with the topic")
    landed = dict(presto_rows(f"select user, count(*) from hive_events where user like '%-{tag}' group by 1"))
    acked = {s.user for s in sent if s.status == 200}
    refused = {s.user for s in sent if s.status == 503}
    figures = {
        "requests": len(sent), "acknowledged": len(acked), "503": len(refused),
        "other statuses": dict(Counter(s.status for s in sent if s.status not in (200, 503))),
        "landed": len(landed), "duplicates": sum(n - 1 for n in landed.values()),
        "missing": len(acked - landed.keys()), "landed after a 503": len(landed.keys() & refused),
        "never sent": len(landed.keys() - acked - refused),
    }
    record_figure(name, figures)
    assert figures["other statuses"] == {}, figures
    assert figures["missing"] == 0 and figures["duplicates"] == 0 and figures["never sent"] == 0, figures
    return figures
