"""The stream's deduplication (game_events/stream/dedup.py, java/KeyLog.java) on local Spark,
files on the local file system: verdicts by the window on Kafka time, in any partition,
replays deciding the same, the state rebuilt from the batches' files, and bounded."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from game_events.stream import dedup

SCHEMA = "value binary, timestamp timestamp, partition int, offset long"
T0 = datetime(2026, 1, 1)
WINDOW_MS, GRACE_MS = 60_000, 10_000


@pytest.fixture(scope="module")
def session():
    s = (SparkSession.builder.master("local[2]").appName("test_dedup").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield s
    s.stop()


def record(offset: int, event_id: str | None, amount: int, seconds: float, partition: int = 0):
    head = f'{{"event_id":"{event_id}",' if event_id else "{"
    value = head + f'"event_type":"get_paid","user":"u","amount":{amount}}}'
    return bytearray(value.encode()), T0 + timedelta(seconds=seconds), partition, offset


def run(session, d: dedup.Deduplicator, batch_id: int, records: list) -> tuple[dict, list[int], list[tuple]]:
    """One batch through gather (a noop write standing in for the landing) and decide: counts,
    offsets kept, (offset, reason) of the conflicts."""
    df = session.createDataFrame(records, SCHEMA)
    d.gather(df, batch_id).write.format("noop").mode("overwrite").save()
    v = d.decide(batch_id)
    kept = sorted(r.offset for r in v.kept(df).collect())
    conflicts = v.conflicts(df)
    return v.counts, kept, sorted((r.offset, r.reason) for r in conflicts.collect()) if conflicts else []


def test_verdicts_on_kafka_time_across_partitions(session, tmp_path):
    d = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    assert d.recover() == 0
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    counts, kept, conflicts = run(session, d, 0, [
        record(0, a, 1, 0), record(1, b, 2, 0),
        record(2, a, 1, 1, partition=1),  # a retry in another partition, same batch
        record(3, None, 9, 0), record(4, None, 9, 0)])  # no id, alike: never merged
    assert (counts, kept, conflicts) == ({"land": 2, "dup": 1, "conflict": 0}, [0, 1, 3, 4], [])
    counts, kept, conflicts = run(session, d, 1, [
        record(5, b, 2, 30),  # a retry within the window, a batch later
        record(6, a, 7, 30),  # the id again with another amount
        record(7, c, 3, 30)])
    assert (counts, kept) == ({"land": 1, "dup": 1, "conflict": 1}, [7])
    assert conflicts == [(6, dedup.CONFLICT_REASON % (0, 0))]
    # b again 61 s after its first copy: past the window, a new event.
    counts, kept, _ = run(session, d, 2, [record(8, b, 2, 61)])
    assert (counts, kept) == ({"land": 1, "dup": 0, "conflict": 0}, [8])


def test_late_records_are_decided_by_their_own_kafka_time(session, tmp_path):
    d = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    a = str(uuid.uuid4())
    run(session, d, 0, [record(0, a, 1, 100)])
    # A lagging partition's copy, 50 s older than the first: within the window, a duplicate.
    counts, kept, _ = run(session, d, 1, [record(1, a, 1, 50, partition=1)])
    assert (counts, kept) == ({"land": 0, "dup": 1, "conflict": 0}, [])
    # A copy far older than the first (more than the window): lands, and the state keeps the first.
    counts, kept, _ = run(session, d, 2, [record(2, a, 1, 20, partition=1), record(3, a, 1, 101)])
    assert (counts, kept) == ({"land": 1, "dup": 1, "conflict": 0}, [2])


def test_a_restart_and_a_replay_decide_as_the_first_run(session, tmp_path):
    ids = [str(uuid.uuid4()) for _ in range(5)]
    d = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    run(session, d, 0, [record(i, e, i, 0) for i, e in enumerate(ids)])
    batch1 = [record(10 + i, e, i, 5) for i, e in enumerate(ids[:3])] + [record(20, ids[4], 99, 5)]
    first = run(session, d, 1, batch1)
    assert first[0] == {"land": 0, "dup": 3, "conflict": 1}
    # A new driver (the stream restarted): the table comes back from the two batches' files, and
    # batch 1 replayed (its commit lost) gives the same verdicts, row for row.
    again = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    assert again.recover() == 2 and again.table.size() == 5
    assert run(session, again, 1, batch1) == first
    # A batch whose events had landed before the restart: its drops, from its file.
    third = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    third.recover()
    assert third.decided(1).counts == {"land": 0, "dup": 3, "conflict": 1}
    # And a retry after the restart is still a duplicate.
    assert run(session, third, 2, [record(30, ids[2], 2, 9)])[0] == {"land": 0, "dup": 1, "conflict": 0}


def test_the_state_is_bounded_by_the_window(session, tmp_path):
    d = dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}")
    sizes = []
    # Twelve windows of Kafka time, 300 new ids every 10 s: 72 batches, 21,600 ids in all.
    for n in range(72):
        run(session, d, n, [record(n * 300 + i, str(uuid.uuid4()), 1, n * 10) for i in range(300)])
        sizes.append(d.table.size())
    # At most the window and grace (70 s: 8 batches) and the sweep's tenth of it (one batch) are held.
    bound = 300 * (70 // 10 + 2)
    assert max(sizes) <= bound, sizes
    assert sizes[-1] >= 300 * 6, sizes  # and the window's ids are all there
    # The files of batches whose ids all left are deleted at the next start.
    files = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".ids"))
    dedup.Deduplicator(session, WINDOW_MS, GRACE_MS, f"file://{tmp_path}").recover()
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".ids"))
    assert len(files) == 72 and 6 <= len(left) <= 9, left
