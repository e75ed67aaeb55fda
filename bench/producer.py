"""The Kafka client's own ceiling: kafka-python's producer with the API's settings
(acks=all, idempotent), sending events in rounds of 1000 and waiting for every
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
    from kafka import KafkaProducer

    name = f"bench-producer-{common.tag()}"
    event = json.dumps({"Accept": "*/*", "Host": "user1.comcast.com", "User-Agent": "ApacheBench/2.3",
                        "event_type": "get_paid", "user": "user1", "amount": 100}, separators=(",", ":")).encode()
    producer = KafkaProducer(bootstrap_servers=settings.KAFKA_BOOTSTRAP, acks="all", enable_idempotence=True,
                             linger_ms=2, batch_size=256 * 1024)
    producer.send(name, event).get(30)  # connected, topic created
    t0, c0, sent = time.monotonic(), cpu(), 0
    while sent < events:
        futures = [producer.send(name, event) for _ in range(min(1000, events - sent))]
        for f in futures:
            f.get(30)
        sent += len(futures)
    seconds, cpu_s = time.monotonic() - t0, cpu() - c0
    producer.close()
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
