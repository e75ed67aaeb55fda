"""POST /events while Kafka throttles producers (a client quota of 1 KiB/s): the broker
stores the first produce request of a batch and holds the rest back past the API's ack
timeout. The reply over HTTP is a 503 whose `stored` and `retry` split the batch's
indices; every stored event lands once, and the retried ones land once they are sent
again, with the ids the first reply gave them (at most twice: one whose acknowledgement
came too late may be stored twice, with its one id, until the stream deduplicates)."""
from collections import Counter

import pytest
import requests

from game_events import settings
from tests.support.commands import BIN, run
from tests.support.engines import caught_up, presto_rows
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(600, func_only=True)
BATCH = 1000  # the API's largest batch: several produce requests, so a quota can cut it
# Each granian worker's producer is throttled only after its first request: a few tries
# reach a worker that was.
ATTEMPTS = 8


def quota(*change: str) -> None:
    run(BIN / "kafka-configs", "--alter", *change, "--entity-type", "clients", "--entity-default", timeout=120)


def post(events: list[dict]) -> requests.Response:
    return requests.post(f"{settings.API_URL}/events", json=events, timeout=60)


def test_a_throttled_batch_answers_503_with_the_indices_stored_and_to_retry(pipeline, tag):
    quota("--add-config", "producer_byte_rate=1024")
    try:
        for attempt in range(ATTEMPTS):
            events = [{"event_type": "get_paid", "user": f"b{attempt}i{i}-{tag}", "amount": i} for i in range(BATCH)]
            reply = post(events)
            body = reply.json()
            if reply.status_code == 503 and body["stored"] and body["retry"]:
                break
        else:
            raise AssertionError(f"no partial 503 in {ATTEMPTS} batches; the last: {reply.status_code} {body}")
    finally:
        quota("--delete-config", "producer_byte_rate")
    assert reply.headers["Retry-After"] == "5"
    assert sorted(body["stored"] + body["retry"]) == list(range(BATCH)), body
    assert f"confirmed {len(body['stored'])} of {BATCH} events" in body["error"], body
    ids = body["ids"]
    assert len(set(ids)) == BATCH

    # The client's part: send the `retry` ones again, each with its id, until all are stored.
    # The throttle outlives the quota by at most its window (seconds), so this ends.
    pending, sends = body["retry"], Counter()

    def resend() -> bool:
        nonlocal pending
        sends.update(pending)
        r = post([{**events[i], "event_id": ids[i]} for i in pending])
        assert r.json()["ids"] == [ids[i] for i in pending]
        pending = [] if r.status_code == 200 else [pending[i] for i in r.json()["retry"]]
        return not pending

    wait_for(resend, 120, interval=1, what="the retried events stored")
    wait_for(caught_up, 300, interval=2, what="the stream to catch up with the topic")
    landed = Counter(presto_rows(f"select \"user\", amount from hive_events where \"user\" like 'b{attempt}i%-{tag}'"))
    by_user = {e["user"]: e["amount"] for e in events}
    assert {user for user, _ in landed} == set(by_user)  # every event of the batch, and only those
    assert all(amount == by_user[user] for user, amount in landed), landed
    stored_twice = [i for i in body["stored"] if landed[(events[i]["user"], i)] != 1]
    assert stored_twice == []  # a stored event lands once
    too_often = [i for i in body["retry"] if landed[(events[i]["user"], i)] > 1 + sends[i]]
    assert too_often == []
    # Every landed copy of an event, a retried one's too, carries the id of the first reply.
    landed_ids = set(presto_rows(f"select \"user\", json_extract_scalar(raw_event, '$.event_id') from hive_events "
                                 f"where \"user\" like 'b{attempt}i%-{tag}'"))
    assert landed_ids == {(e["user"], ids[i]) for i, e in enumerate(events)}
