"""The Kafka client's own ceiling: the API's own EventLog (confluent-kafka, acks=all,
idempotent, its poll thread), delivering events in rounds of 1000 and waiting for every
acknowledgement, with no HTTP and no validation. What the batch endpoint can at best reach.

    python -m bench.producer --events 200000
"""
from __future__ import annotations

import argparse
import json
import resource
import time

from bench import common
from game_events import settings, topic


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(events: int) -> dict:
    from game_events.api.event_log import EventLog

    name = f"bench-producer-{common.tag()}"
    # An event of the size the API writes, its id included.
    event = json.dumps({"event_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "Accept": "*/*",
                        "Host": "user1.comcast.com", "User-Agent": "ApacheBench/2.3", "event_type": "get_paid",
                        "user": "user1", "amount": 100}, separators=(",", ":")).encode()
    topic.create(name)
    log = EventLog(settings.KAFKA_BOOTSTRAP, settings.KAFKA_ACK_TIMEOUT_S)
    if log.deliver(name, [event]) != [0]:  # connected, and the topic ready
        raise RuntimeError("Kafka did not take the first event")
    t0, c0, sent = time.monotonic(), cpu(), 0
    while sent < events:
        n = min(1000, events - sent)
        stored = log.deliver(name, [event] * n)
        if len(stored) != n:
            raise RuntimeError(f"Kafka acknowledged {len(stored)} of {n} events")
        sent += n
    seconds, cpu_s = time.monotonic() - t0, cpu() - c0
    return common.save("producer", {"events": events, "events_per_s": round(events / seconds, 1),
                                    "cpu_ms_per_event": round(cpu_s * 1000 / events, 4),
                                    "in_kafka": sum(topic.end_offsets(name).values()) - 1})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200000)
    args = ap.parse_args()
    run(args.events)


if __name__ == "__main__":
    main()
