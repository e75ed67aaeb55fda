"""Deduplication by event id on the real stack (issue 26): a client's retries land once, an id
reused with other content is quarantined with its reason, records without an id are never
merged, and after the stream's SIGKILL a retry of an id landed before it is still dropped."""
import json
import re
import uuid
from pathlib import Path

import pytest
import requests

from game_events import settings, topic
from tests.support.commands import launcher
from tests.support.engines import caught_up, presto_rows, stream_progress
from tests.support.services import kill, pid_of
from tests.support.waits import wait_for

API = settings.API_URL
pytestmark = pytest.mark.timeout(600, func_only=True)


def get_paid(user: str, amount: int, event_id: str) -> str:
    r = requests.get(f"{API}/get_paid", params={"user": user, "amount": str(amount), "event_id": event_id},
                     timeout=20)
    assert r.status_code == 200, r.text
    return r.headers["Event-Id"]


def landed(tag: str) -> dict[str, list[tuple]]:
    """{event id: [(user, amount)] for each row} of this tag's rows in hive_events."""
    out: dict[str, list[tuple]] = {}
    for raw, user, amount in presto_rows(f"select raw_event, user, amount from hive_events "
                                         f"where user like '%-{tag}'"):
        out.setdefault(json.loads(raw).get("event_id"), []).append((user, int(amount)))
    return out


def quarantined(tag: str) -> list[tuple]:
    return presto_rows(f"select reason, kafka_partition, kafka_offset from hive_bad_events "
                       f"where raw_event like '%-{tag}%'")


def test_retries_land_once_and_a_reused_id_with_other_content_is_quarantined(pipeline, tag):
    wait_for(caught_up, 120, what="the stream to catch up")
    before = stream_progress()["duplicates"]
    ids = [str(uuid.uuid4()) for _ in range(20)]
    # Each event three times: twice as the seed's GET, once in a batch.
    for i, eid in enumerate(ids):
        assert get_paid(f"u{i}-{tag}", i, eid) == eid
        assert get_paid(f"u{i}-{tag}", i, eid) == eid
    r = requests.post(f"{API}/events", json=[{"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i,
                                              "event_id": eid} for i, eid in enumerate(ids)], timeout=20)
    assert r.status_code == 200 and r.json()["ids"] == ids, r.text
    # The first id again, with another amount: not a retry.
    get_paid(f"u0-{tag}", 999, ids[0])
    # Two records without an id, alike to the byte: both land (another producer's, not the API's form).
    plain = json.dumps({"event_type": "get_paid", "user": f"plain-{tag}", "amount": 1}).encode()
    topic.produce(settings.TOPIC, [plain, plain], key=f"dedup-{tag}".encode())

    want = {eid: [(f"u{i}-{tag}", i)] for i, eid in enumerate(ids)}
    wait_for(lambda: {k: v for k, v in landed(tag).items() if k is not None} == want and quarantined(tag), 120,
             what="each id once, and the reused id quarantined")
    assert presto_rows(f"select count(*) from hive_events where user = 'plain-{tag}'") == [(2,)]
    (reason, _, _), = quarantined(tag)
    assert reason.startswith("event_id reused with other content (first copy: partition 0 offset "), reason
    # Forty copies dropped: each id's two retries.
    wait_for(lambda: stream_progress()["duplicates"] - before == 40, 60, what="the stream's count of duplicates")
    # `make status` prints the same count.
    out = launcher("status", check=False).stdout
    shown = re.search(r"^stream .*, duplicates dropped (\d+) \((\d+) ids in the window\),", out, re.M)
    assert shown and int(shown[1]) == stream_progress()["duplicates"], out
    assert int(shown[2]) == stream_progress()["dedup_ids"] >= 20, out  # this test's 20 ids at least


def test_a_retry_after_the_streams_sigkill_is_still_dropped(pipeline, tag):
    wait_for(caught_up, 120, what="the stream to catch up")
    eid = get_paid(f"k-{tag}", 5, str(uuid.uuid4()))
    wait_for(lambda: landed(tag) == {eid: [(f"k-{tag}", 5)]}, 90, what="the first copy")
    wait_for(caught_up, 60, what="its batch committed")
    kill("stream")
    assert pid_of("stream") is None
    # Sent while the stream is down, and after it: both copies of a landed id.
    get_paid(f"k-{tag}", 5, eid)
    launcher("up", "stream")
    get_paid(f"k-{tag}", 5, eid)
    wait_for(caught_up, 120, what="the restarted stream to catch up")
    assert landed(tag) == {eid: [(f"k-{tag}", 5)]}
    assert stream_progress()["duplicates"] == 2  # counted since this process started
    # The state came back from the batches' files in HDFS.
    assert any(name.endswith(".ids") for name in _names(settings.DEDUP_PATH))


def _names(path: str) -> set[str]:
    from tests.support.engines import hdfs_names
    return hdfs_names(path)


def test_the_streams_driver_heap_is_spark_driver_memory(pipeline):
    # The window's ids live in the driver's heap: SPARK_DRIVER_MEMORY sizes it (README).
    from stack.processes import process_tree

    pid = pid_of("stream")
    assert pid, "the stream is not running"
    args = [Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0") for p in process_tree(pid)]
    heaps = [a.decode() for cmd in args for a in cmd if a.startswith(b"-Xmx")]
    assert heaps == [f"-Xmx{settings.SPARK_DRIVER_MEMORY}"], heaps
