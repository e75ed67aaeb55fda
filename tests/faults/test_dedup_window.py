"""The deduplication's window on the real stack, with a short one (the stream restarted with
DEDUP_WINDOW=12 seconds for this module): an id resent after the window lands again, as
documented; a backlog written while the stream was down, older than the window when it is
read, lands in full, its retries dropped; and under a steady load of many windows the ids
the stream holds stay bounded."""
import os
import time
import uuid

import pytest
import requests

from game_events import settings
from tests.support.commands import launcher
from tests.support.engines import caught_up, presto_rows, stream_progress
from tests.support.figures import record_figure
from tests.support.load import Load
from tests.support.waits import wait_for

API = settings.API_URL
WINDOW_S, GRACE_S = 12, 3
pytestmark = pytest.mark.timeout(900, func_only=True)


@pytest.fixture(scope="module")
def short_window(pipeline):
    launcher("down", "stream")
    launcher("up", "stream", env={**os.environ, "DEDUP_WINDOW": f"{WINDOW_S} seconds",
                                  "DEDUP_GRACE": f"{GRACE_S} seconds"})
    yield
    launcher("down", "stream")
    launcher("up", "stream")


def get_paid(user: str, amount: int, event_id: str) -> None:
    r = requests.get(f"{API}/get_paid", params={"user": user, "amount": str(amount), "event_id": event_id},
                     timeout=20)
    assert r.status_code == 200 and r.headers["Event-Id"] == event_id, r.text


def rows(user: str) -> list[tuple]:
    return presto_rows(f"select amount from hive_events where user = '{user}'")


def test_an_id_resent_after_the_window_is_a_new_event(short_window, tag):
    eid, user = str(uuid.uuid4()), f"w-{tag}"
    get_paid(user, 3, eid)
    get_paid(user, 3, eid)  # a retry within the window: dropped
    t_first = time.monotonic()
    wait_for(lambda: rows(user) == [(3,)], 90, what="the first copy")
    time.sleep(max(0.0, WINDOW_S + 1 - (time.monotonic() - t_first)))  # the window passing is the fault
    get_paid(user, 3, eid)
    wait_for(lambda: rows(user) == [(3,), (3,)], 90, what="the copy sent after the window, landed")


def test_a_backlog_older_than_the_window_lands_in_full(short_window, tag):
    wait_for(caught_up, 120, what="the stream to catch up")
    launcher("down", "stream")
    ids = [str(uuid.uuid4()) for _ in range(30)]
    for i, eid in enumerate(ids):
        get_paid(f"b{i}-{tag}", i, eid)
        get_paid(f"b{i}-{tag}", i, eid)  # each one's retry, seconds later at most
    t_written = time.monotonic()
    time.sleep(max(0.0, WINDOW_S + GRACE_S + 1 - (time.monotonic() - t_written)))  # the backlog ages
    launcher("up", "stream", env={**os.environ, "DEDUP_WINDOW": f"{WINDOW_S} seconds",
                                  "DEDUP_GRACE": f"{GRACE_S} seconds"})
    wait_for(caught_up, 120, what="the restarted stream to drain the backlog")
    got = presto_rows(f"select user, amount from hive_events where user like 'b%-{tag}'")
    assert sorted(got) == sorted((f"b{i}-{tag}", i) for i in range(30)), got
    assert stream_progress()["duplicates"] == 30


def test_the_ids_held_stay_bounded_under_load_over_many_windows(short_window, tag):
    # Ten windows of steady load: the stream holds the ids of about a window and a grace (plus a
    # trigger, and the batch that the sweep lags behind), not all of them.
    seconds = 10 * WINDOW_S
    held = []
    with Load(tag, threads=2, pause=0.05, retry=True) as load:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            wait_for(lambda: stream_progress().get("batch_id", -1) > (held[-1][0] if held else -1), 60,
                     what="the next batch")
            p = stream_progress()
            held.append((p["batch_id"], p["dedup_ids"], load.answered()))
    rate = load.answered() / (time.monotonic() - t0)
    bound = rate * (WINDOW_S + GRACE_S + 2 * 10) * 1.5
    record_figure("dedup state under load: events/s; ids held per batch (max, last); bound",
                  (round(rate, 1), max(h for _, h, _ in held), held[-1][1], round(bound)))
    assert load.answered() >= 2 * bound, (load.answered(), bound)  # far more than may be held
    assert max(h for _, h, _ in held[3:]) <= bound, held
