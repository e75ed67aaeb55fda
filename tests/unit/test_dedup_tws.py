"""The stream's deduplication by event id (game_events/stream/dedup.py, java/Dedup.java) on local
Spark: streaming queries from JSON files with the Kafka source's columns, one file per micro-batch,
through deduplicate() into foreachBatch. Every expected verdict is written beside its record here.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from game_events.stream import dedup_tws as dedup

# Three query starts in the longest test; this shared machine ran it 2-3x slower under load.
pytestmark = pytest.mark.timeout(300)

SCHEMA = "value binary, timestamp timestamp, partition int, offset long"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
WINDOW_MS = 1000  # Kafka time
HOUR_MS = 3_600_000
A, B, C = "6f1c0a2e-9b3d-4e57-a8c1-0d2e3f4a5b6c", "0b7e4d21-5a6f-4c38-9e0d-1f2a3b4c5d6e", "c4d5e6f7-0819-4a2b-8c3d-4e5f60718293"


def api(eid: str, content: str) -> bytes:
    """A value in the API's form: the id first."""
    return b'{"event_id":"%s","event_type":"x","n":"%s"}' % (eid.encode(), content.encode())


class Feed:
    """A directory of JSON files, read as a stream one file per batch, in the order written."""

    def __init__(self, root: Path):
        self.dir = root / "in"
        self.dir.mkdir()
        self.files = 0

    def add(self, records):
        """records: (value, ms after T0, partition, offset, ...); the rest is for the test."""
        lines = [json.dumps({"value": v and base64.b64encode(v).decode(),
                             "timestamp": (T0 + dt.timedelta(milliseconds=ms)).isoformat(),
                             "partition": p, "offset": o}) for v, ms, p, o, *_ in records]
        tmp = self.dir.parent / f"{self.files}.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        # The source takes files by modification time: one second apart, whatever the clock's grain.
        os.utime(tmp, (1_700_000_000 + self.files, 1_700_000_000 + self.files))
        tmp.rename(self.dir / f"{self.files:03d}.json")
        self.files += 1


@pytest.fixture(scope="module")
def session(spark):
    """The unit tests' session, with the state store Dedup needs and two state partitions."""
    conf = {**dedup.STATE_CONF, **dedup.DRAIN_CONF, "spark.sql.shuffle.partitions": "2"}
    before = {k: spark.conf.get(k, None) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    yield spark
    for k, v in before.items():
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)


def start(session, feed: Feed, checkpoint: Path, window_ms=WINDOW_MS, ttl_ms=HOUR_MS, on_batch=None):
    """The query over every file in the feed (availableNow), collecting its output by batch id."""
    out: dict[int, list[tuple]] = {}

    def collect(batch, batch_id):
        out[batch_id] = sorted((r.partition, r.offset, r.verdict, r.first_partition, r.first_offset, r.value is None)
                               for r in batch.collect())
        if on_batch:
            on_batch(batch_id)

    records = session.readStream.schema(SCHEMA).option("maxFilesPerTrigger", 1).json(str(feed.dir))
    query = (dedup.deduplicate(session, records, window_ms, ttl_ms).writeStream.foreachBatch(collect)
             .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True).start())
    return query, out


def drain(session, feed, checkpoint, **kwargs):
    query, out = start(session, feed, checkpoint, **kwargs)
    assert query.awaitTermination(100), "availableNow did not end"
    assert query.exception() is None
    return query, out


def expected(records):
    """(partition, offset, verdict, first_partition, first_offset, value is null), as written beside
    each record: (value, ms, partition, offset, verdict, first copy's (partition, offset) or None);
    a dup's value is dropped."""
    return sorted((p, o, v, *(first or (None, None)), v == "dup" or value is None)
                  for value, _, p, o, v, first in records)


# Batch 0: the first copy of an id is its earliest on Kafka's clock, not the first in the file.
BATCH0 = [
    (api(A, "x"), 5, 1, 0, "dup", (0, 3)),
    (api(A, "x"), 0, 0, 3, "land", None),
    (api(A, "y"), 6, 0, 4, "conflict", (0, 3)),
    (b'{"event_type":"x"}', 0, 0, 5, "land", None),  # no id, the same content twice: both land
    (b'{"event_type":"x"}', 0, 0, 6, "land", None),
    (b'{"event_id":"nope","event_type":"x"}', 0, 0, 7, "land", None),  # an invalid id, twice
    (b'{"event_id":"nope","event_type":"x"}', 0, 0, 8, "land", None),
    (api(B, "x"), 0, 0, 9, "land", None),
    (api(C, "x"), 2000, 0, 10, "land", None),
    (None, 0, 0, 11, "land", None),  # tombstones
    (None, 0, 0, 12, "land", None),
]
# Batch 1: a later batch meets the state.
BATCH1 = [
    (api(A, "x"), 900, 0, 20, "dup", (0, 3)),
    # The same id outside the API's form (key order), read by get_json_object: other content.
    (b'{"event_type":"x","event_id":"%s"}' % A.encode(), 10, 0, 21, "conflict", (0, 3)),
    (api(B, "x"), 1000, 0, 22, "dup", (0, 9)),  # exactly the window after the first copy
    (api(B, "x"), 1001, 0, 23, "land", None),  # after it: lands, and is the first copy from now on
    (api(B, "x"), 1500, 0, 24, "dup", (0, 23)),
    (api(C, "x"), 999, 0, 25, "land", None),  # more than the window before the first copy: not its copy
    (b'{"event_id":"%s","event_type":"x"}' % A.upper().encode(), 0, 0, 26, "land", None),  # not canonical
]
# Batch 2, after a restart from the checkpoint.
BATCH2 = [
    (api(C, "x"), 2500, 0, 30, "dup", (0, 10)),  # the older copy of batch 1 did not replace the first
    (api(A, "x"), 950, 1, 40, "dup", (0, 3)),
    (api(A, "x"), 0, 0, 3, "land", None),  # the first copy itself, read again at its offset
]


def test_copies_of_an_id_are_dropped_or_quarantined_across_batches_restarts_and_replays(session, tmp_path):
    feed, checkpoint = Feed(tmp_path), tmp_path / "checkpoint"
    feed.add(BATCH0)
    feed.add(BATCH1)
    _, out = drain(session, feed, checkpoint)
    assert out == {0: expected(BATCH0), 1: expected(BATCH1)}

    feed.add(BATCH2)
    _, out = drain(session, feed, checkpoint)
    assert out == {2: expected(BATCH2)}

    # A crash after batch 2's state commit, before its commit record: the batch runs again
    # from the state before it, and gives the same verdicts, row for row.
    for name in ("2", ".2.crc"):
        (checkpoint / "commits" / name).unlink()
    _, replay = drain(session, feed, checkpoint)
    assert replay == out


def test_state_stays_bounded_by_its_ttl(session, tmp_path):
    per_batch, batches, ttl_ms = 500, 6, 200
    feed = Feed(tmp_path)
    for b in range(batches):
        feed.add([(api(str(uuid.UUID(int=b * per_batch + i + 10, version=4)), "x"), 0, 0, b * per_batch + i)
                  for i in range(per_batch)])

    def past_ttl(_batch_id):
        # The TTL runs on the batches' processing time: the next batch starts after this batch's ids expire.
        deadline = time.time() + ttl_ms / 1000
        while time.time() <= deadline:
            time.sleep(0.01)

    query, out = drain(session, feed, tmp_path / "checkpoint", window_ms=1, ttl_ms=ttl_ms, on_batch=past_ttl)
    assert sorted(out) == list(range(batches))
    assert all(verdict == "land" for rows in out.values() for _, _, verdict, *_ in rows)
    state = [p["stateOperators"][0] for p in query.recentProgress if p["numInputRows"]]
    assert [s["operatorName"] for s in state] == ["transformWithStateExec"] * batches
    # Each batch's ids stay; every earlier batch's have expired: 3,000 ids passed, at most 500 held.
    assert [s["numRowsTotal"] for s in state] == [per_batch] * batches
    assert sum(s["customMetrics"]["numValuesRemovedDueToTTLExpiry"] for s in state) == per_batch * (batches - 1)


def test_available_now_ends_only_without_no_data_batches(session, tmp_path):
    """In ProcessingTime mode the operator always asks for another batch: without DRAIN_CONF an
    availableNow query keeps running empty batches after the data (so the other tests set it)."""
    feed = Feed(tmp_path)
    feed.add(BATCH0)
    session.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "true")
    try:
        query, out = start(session, feed, tmp_path / "checkpoint")
        deadline = time.time() + 60
        while len(out) < 3 and query.isActive and time.time() < deadline:
            query.awaitTermination(0.2)
        empty_batches = [n for n, rows in out.items() if not rows]
        active = query.isActive
        query.stop()
    finally:
        session.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "false")
    assert active and len(empty_batches) >= 2 and out[0] == expected(BATCH0)


def test_the_key_is_the_id_as_16_bytes_or_32_bytes_unique_to_the_record(session):
    rows = [(api(A, "x"), 0, 7, 12), (b'{"event_type":"x","event_id":"%s"}' % A.encode(), 0, 0, 1),
            (b'{"event_id":"%s"}' % A.encode(), 0, 0, 2),  # the API's prefix with no field after it
            (b'{"event_id":"%sa","event_type":"x"}' % A.encode(), 0, 3, 4),  # 37 characters
            (b"not json", 0, 99999, 123), (None, 0, 0, 5)]
    df = session.createDataFrame([(v, T0, p, o) for v, _, p, o in rows], SCHEMA)
    keys = [bytes(r.k) for r in dedup.dedup_input(df).collect()]
    assert keys == [uuid.UUID(A).bytes] * 3 + [b"no-id:00003:00000000000000000004",
                                               b"no-id:99999:00000000000000000123", b"no-id:00000:00000000000000000005"]
    assert {len(k) for k in keys} == {16, 32}


def test_without_the_class_it_refuses_to_run(session, tmp_path):
    from game_events import settings

    with pytest.raises(RuntimeError, match=r"needs game_events\.stream\.NoDedup, but .*none\.jar is missing"):
        dedup.java_class(session, tmp_path / "none.jar", "game_events.stream.NoDedup")
    with pytest.raises(RuntimeError, match=r"needs game_events\.stream\.NoDedup, and .* does not hold it"):
        dedup.java_class(session, settings.STREAM_JAR, "game_events.stream.NoDedup")
