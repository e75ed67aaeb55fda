"""`make status`'s counters and lag against the engines themselves: the API's accepted count
against the requests this test saw answered 2xx, the stream's landed count against Presto's
rows, and the lag line against Kafka's own end offsets. The API and the stream are started
afresh first, so their counters (kept since each started) are compared whole, not as
differences that an off-by-one would survive."""
from __future__ import annotations

import re

import pytest

from game_events import settings, topic
from tests.support.commands import launcher
from tests.support.engines import presto_rows
from tests.support.load import send
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)
N = 24


def status() -> dict:
    """The counters `python -m stack status` prints, as numbers."""
    out = launcher("status", check=False).stdout
    api = re.search(r"^api +accepted (\d+), rejected (\d+), 503 (\d+);", out, re.M)
    stream = re.search(r"^stream +(\d+) batches, landed (\d+), quarantined (\d+),", out, re.M)
    lag = re.findall(rf"^lag +topic {settings.TOPIC} partition (\d+): end offset (\d+), stream committed (\d+), "
                     r"(\d+) records behind", out, re.M)
    assert api and stream and lag, out
    return {"accepted": int(api[1]), "rejected": int(api[2]), "unavailable": int(api[3]),
            "landed": int(stream[2]), "quarantined": int(stream[3]),
            "lag": {int(p): tuple(map(int, rest)) for p, *rest in lag}}


def test_status_counts_what_kafka_and_presto_hold(pipeline, tag):
    def settled() -> dict | None:
        s = status()
        return s if all(end == committed and behind == 0 for end, committed, behind in s["lag"].values()) else None

    launcher("down", "stream", "api")
    launcher("up", "api", "stream")
    wait_for(settled, 120, interval=1, what="the stream to have committed the topic's end")
    sent = send(tag, N, "status")
    assert [s.status for s in sent] == [200] * N

    def landed() -> int:
        return presto_rows(f"select count(*) from {settings.EVENTS_TABLE} where \"user\" like '%-{tag}'")[0][0]

    wait_for(lambda: landed() == N, 120, interval=1, what=f"Presto to show the {N} events")
    after, _ = wait_for(settled, 60, interval=1, what="the stream to commit the batch it landed")
    ends = topic.end_offsets()
    assert {p: end for p, (end, _, _) in after["lag"].items()} == ends
    assert (after["accepted"], after["rejected"], after["unavailable"]) == (N, 0, 0)
    assert after["landed"] == landed() == N
    assert after["quarantined"] == 0
