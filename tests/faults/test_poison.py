"""Poison records on the topic: each is quarantined with its reason, the good events
between them land, and the stream keeps running in the same process."""
import json

import pytest

from game_events import settings, topic
from tests.support.engines import caught_up, presto_rows
from tests.support.figures import record_figure
from tests.support.load import assert_same_rows, expected_row, landed_rows
from tests.support.poison import HEADERS, KINDS, MEGABYTE, good
from tests.support.services import pid_of
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(600, func_only=True)


def test_poison_records_are_quarantined_with_their_reason_and_good_ones_land(pipeline, tag):
    stream_pid = pid_of("stream")
    plan: list[tuple[bytes | None, str | None]] = []  # (value, reason; None for a good event)
    for i in range(45):
        for kind, make, reason in KINDS:
            if kind == "1 MB payload" and i % 15:
                continue  # three of them are enough
            plan.append((make(i), reason))
            if len(plan) % 3 == 2:
                plan.append((good(f"good{len(plan)}-{tag}", i), None))
    # A tombstone (null value) needs a key.
    offsets = topic.produce(settings.TOPIC, [value for value, _ in plan], key=b"poison-test",
                            **{"message.max.bytes": 2 * MEGABYTE + 100_000})
    expected_bad = {o: reason for o, (_, reason) in zip(offsets, plan) if reason}
    good_users = {json.loads(v)["user"] for v, reason in plan if reason is None}
    assert len(expected_bad) >= 1000 and len({r for r in expected_bad.values()}) >= 10

    wait_for(caught_up, 300, interval=2, what="the stream to catch up")
    rows = presto_rows(f"select kafka_offset, reason, length(raw_event) from hive_bad_events "
                       f"where kafka_offset between {min(offsets)} and {max(offsets)}")
    got = {o: r for o, r, _ in rows}
    lengths = {o: n for o, _, n in rows}
    wrong = {o: (got.get(o), want) for o, want in expected_bad.items() if got.get(o) != want}
    assert wrong == {}
    assert len(rows) == len(expected_bad)  # no good event quarantined, none twice
    big = [o for o, (v, r) in zip(offsets, plan) if v and len(v) > MEGABYTE]
    assert len(big) == 3 and all(lengths[o] > MEGABYTE for o in big)
    landed = dict(presto_rows(f"select user, count(*) from hive_events where user like 'good%-{tag}' group by 1"))
    assert landed == {u: 1 for u in good_users}
    goods = [json.loads(v) for v, reason in plan if reason is None]
    # Written straight to the topic without an id: they land through the rules, as they are.
    want = [expected_row("get_paid", {"user": e["user"], "amount": str(e["amount"])}, HEADERS, None) for e in goods]
    assert_same_rows(landed_rows(f"\"user\" like 'good%-{tag}'"), want, "the good events between the poison")
    assert pid_of("stream") == stream_pid
    record_figure("poison records: bad sent, kinds, quarantined with the right reason, good sent, good landed",
                  (len(expected_bad), len(KINDS), len(expected_bad) - len(wrong), len(good_users), len(landed)))
