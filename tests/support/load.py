"""Steady load on the API for the fault tests, and the audit that follows each fault:
every request the API acknowledged must land exactly once, as it was sent, and nothing
else."""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import requests

from game_events import catalogue, settings
from tests.support.data import SWORD_PRICES, expected_event, seed_describe_table
from tests.support.engines import caught_up, presto_rows
from tests.support.figures import record_figure
from tests.support.waits import wait_for

LANDABLE = [e for e in catalogue.EVENTS.values() if e.event_type not in catalogue.IGNORED_EVENT_TYPES]
# The values each parameter takes in turn, by hand: every sword type, a guild name the
# query string must decode (a space, an apostrophe), amounts with leading zeros and the
# largest allowed. All printable ASCII: the stream's fast path, as in production.
VALUES = {
    "type": tuple(SWORD_PRICES),
    "name": ("knights", "wizards", "night's watch"),
    "amount": ("7", "0", "0042", "9999999999", "250"),
}
# Every request of the load carries these: the columns accept, host and user_agent must say so.
HEADERS = {"Accept": "*/*", "Host": "load.example", "User-Agent": "game-events-load/1.0"}

# hive_events' columns for the headers (the seed's names, by hand), and the columns of an
# event's fields: every column the catalogue defines but Kafka's own (raw_event, timestamp).
HEADER_COLUMNS = {"accept": "Accept", "host": "Host", "user_agent": "User-Agent"}
EVENT_COLUMNS = tuple(c for c, t in catalogue.COLUMNS if (c, t) not in catalogue.RECORD_COLUMNS)
COMPARED = ("raw_event", *EVENT_COLUMNS)
CANONICAL_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # by hand
# Presto gives decimal(10,0) as Decimal; the values sent are whole numbers.
COIN_COLUMNS = {c for c, t in seed_describe_table() if t.startswith("decimal")}


def request_for(i: int, user: str):
    """The i-th request of the landable mix: (event, its query parameters)."""
    event = LANDABLE[i % len(LANDABLE)]
    n = i // len(LANDABLE)  # this event type's n-th request: each cycles through its own values
    return event, {p.name: user if p.name == "user" else VALUES[p.name][n % len(VALUES[p.name])]
                   for p in event.params}


@dataclass
class Sent:
    user: str
    event_type: str
    params: dict[str, str]  # the query parameters, as sent
    headers: dict[str, str]
    status: int  # 0: no HTTP answer at all
    t_sent: float
    t_done: float
    event_id: str | None = None  # the reply's Event-Id (a 200's or a 503's); None without one


def expected_row(event_type: str, params: dict[str, str], headers: dict[str, str], event_id: str | None) -> dict:
    """The row of hive_events an event sent with these query parameters and headers must
    land as (COMPARED columns; raw_event as its JSON, with the event_id the API replied, or
    none for a record written straight to the topic without one), worked out by hand
    (data.expected_event pins the prices and fee), not by the catalogue."""
    fields = expected_event(event_type, params)
    want = {**fields, **{c: headers.get(h) for c, h in HEADER_COLUMNS.items()}}
    if set(want) != set(EVENT_COLUMNS):
        raise AssertionError(f"hive_events' columns {sorted(EVENT_COLUMNS)} are not the ones tests/support "
                             f"expects ({sorted(want)}): write the new field's expectation in data.expected_event")
    raw = {**({} if event_id is None else {"event_id": event_id}),
           **{h: headers.get(h) for h in HEADER_COLUMNS.values()}, **{k: v for k, v in fields.items() if v is not None}}
    return {"raw_event": raw, **{c: want[c] for c in EVENT_COLUMNS}}


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def landed_rows(where: str, extra: tuple[str, ...] = ()) -> list[dict]:
    """Every row of hive_events that matches `where`, as {column: value}: coins as ints,
    raw_event parsed as JSON (kept as text if it is not JSON), plus the `extra` columns
    (timestamp, "$path") as Presto gives them."""
    columns = COMPARED + tuple(extra)
    rows = presto_rows(f"select {', '.join(map(_quoted, columns))} from {settings.EVENTS_TABLE} where {where}")
    out = []
    for values in rows:
        row = dict(zip(columns, values))
        for c in COIN_COLUMNS & row.keys():
            row[c] = None if row[c] is None else int(row[c])
        try:
            row["raw_event"] = json.loads(row["raw_event"])
        except (TypeError, ValueError):
            pass  # the comparison shows it as it is
        out.append(row)
    return out


def differences(want: dict, got: dict) -> list[str]:
    """Each compared column where a landed row is not what was sent, as 'column: sent x,
    landed y'."""
    return [f"{c}: sent {want[c]!r}, landed {got.get(c)!r}" for c in COMPARED if got.get(c) != want[c]]


def canonical(row: dict) -> str:
    """A row's compared columns as one string, to compare rows as multisets."""
    return json.dumps([row.get(c) for c in COMPARED], sort_keys=True, ensure_ascii=False)


def assert_same_rows(got: list[dict], want: list[dict], what: str) -> None:
    """The landed rows are the expected ones, each as often, whatever their order; the
    message lists (up to 10 of) the rows on either side alone."""
    extra = Counter(map(canonical, got)) - Counter(map(canonical, want))
    lacking = Counter(map(canonical, want)) - Counter(map(canonical, got))
    assert not extra and not lacking, (
        f"{what}: {sum(extra.values())} landed rows were not sent, {sum(lacking.values())} sent rows did not land "
        f"(columns {', '.join(COMPARED)})\nlanded, not sent:\n  " + "\n  ".join(list(extra)[:10])
        + "\nsent, not landed:\n  " + "\n  ".join(list(lacking)[:10]))


class Load:
    """Steady load on the API: `threads` clients, each sending one request after another,
    every request with its own user name so that Presto can tell them apart. With retry, a
    client makes each event's id itself and sends the event again with that id, after a 503
    or no answer within `timeout` s, until a 2xx (each attempt is in `sent`), as a game client
    that retries does."""

    def __init__(self, tag: str, threads: int = 6, pause: float = 0.02, retry: bool = False, timeout: float = 20,
                 resend_previous: bool = False):
        self.tag, self.threads, self.pause, self.retry, self.timeout = tag, threads, pause, retry, timeout
        # With resend_previous (and retry), each client sends its previous event again, with its id,
        # after each new one: a copy that reaches the topic a request later.
        self.resend_previous = resend_previous
        self.sent: list[Sent] = []
        self._seq = iter(range(10**9))
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _client(self):
        session = requests.Session()
        previous = None
        while not self._stop.is_set():
            with self._lock:
                seq = next(self._seq)
            user = f"u{seq}-{self.tag}"
            event, params = request_for(seq, user)
            own = {"event_id": str(uuid.uuid4())} if self.retry else {}
            self._send(session, user, event, params, own)
            if previous:
                self._send(session, *previous)
            previous = (user, event, params, own) if self.resend_previous else None
            time.sleep(self.pause)

    def _send(self, session, user, event, params, own) -> None:
        """One event, sent (again, after a 503 or no answer, when the load retries)."""
        first = time.monotonic()
        while True:
            t0 = time.monotonic()
            try:
                resp = session.get(settings.API_URL + event.route, params={**params, **own}, headers=HEADERS,
                                   timeout=self.timeout)
                status, event_id = resp.status_code, resp.headers.get("Event-Id")
            except requests.RequestException:
                status, event_id = 0, own.get("event_id")
            with self._lock:
                self.sent.append(Sent(user, event.event_type, params, HEADERS, status, t0, time.monotonic(),
                                      event_id))
            # A retrying client goes on after the load stops, until its event is stored
            # (bounded): an event it gave up on might still land.
            if not self.retry or status == 200 or (self._stop.is_set() and time.monotonic() - first > 60):
                break
            time.sleep(self.pause)

    def __enter__(self):
        self._workers = [threading.Thread(target=self._client, daemon=True) for _ in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for w in self._workers:
            w.join(90 if self.retry else 30)

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
        r = requests.get(settings.API_URL + event.route, params=params, headers=HEADERS, timeout=20)
        out.append(Sent(user, event.event_type, params, HEADERS, r.status_code, t0, time.monotonic(),
                        r.headers.get("Event-Id")))
    return out


def audit(tag: str, sent: list[Sent], name: str) -> dict:
    """Waits for the stream to catch up, then compares what the API answered with what
    Presto sees: every 2xx exactly once, nothing that was never sent, and every landed
    row (a 503's too, which Kafka may have stored all the same) as it was sent, column by
    column, its raw_event with the id of the API's reply."""
    wait_for(caught_up, 300, interval=2, what="the stream to catch up with the topic")
    rows = landed_rows(f"\"user\" like '%-{tag}'")
    landed = Counter(r["user"] for r in rows)
    # A user's last attempt: its 2xx when a retrying client got one (every attempt has one id).
    by_user = {s.user: s for s in sorted(sent, key=lambda s: s.status == 200)}
    acked = {s.user for s in sent if s.status == 200}
    refused = {s.user for s in sent if s.status == 503}
    wrong = []
    for row in rows:
        s = by_user.get(row["user"])
        if s is not None:  # else "never sent", counted below
            diffs = differences(expected_row(s.event_type, s.params, s.headers, s.event_id), row)
            if diffs:
                wrong.append(f"{s.user} ({s.event_type}, answered {s.status}): {'; '.join(diffs)}")
    figures = {
        "requests": len(sent), "acknowledged": len(acked), "503": len(refused),
        # Each user's last attempt (a retrying client's others are its 503s and timeouts).
        "other statuses": dict(Counter(s.status for s in by_user.values() if s.status not in (200, 503))),
        "landed": len(landed), "duplicates": sum(n - 1 for n in landed.values()),
        "missing": len(acked - landed.keys()), "landed after a 503": len(landed.keys() & refused),
        "never sent": len(landed.keys() - acked - refused), "rows not as sent": len(wrong),
        "retries": len(sent) - len(by_user),
    }
    record_figure(name, figures)
    assert figures["other statuses"] == {}, figures
    # Every 2xx names an id of its own (Event-Id), a UUID in canonical form.
    # (A retrying client's copies of one event share its id.)
    ids = {s.user: s.event_id for s in sent if s.status == 200}
    assert all(re.fullmatch(CANONICAL_UUID, i or "") for i in ids.values()), list(ids.values())[:10]
    assert len(set(ids.values())) == len(ids), "two events answered with one id"
    assert all(s.event_id == ids[s.user] for s in sent if s.status == 200), "one event answered with two ids"
    assert figures["missing"] == 0 and figures["duplicates"] == 0 and figures["never sent"] == 0, figures
    assert not wrong, f"{len(wrong)} landed rows differ from what was sent, e.g.:\n" + "\n".join(wrong[:10])
    return figures
