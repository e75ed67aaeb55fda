"""The one Kafka topic helper (kafka-python): create the topic, read its end offsets, read
its records. Every call is bounded; the API's producer lives in game_events.api."""
from __future__ import annotations

from typing import Iterator

from game_events import settings

TIMEOUT_MS = 10000


def create(topic: str = settings.TOPIC, partitions: int = 1, replication: int = 1) -> bool:
    """Creates the topic; False if it existed already (so calling it again is harmless)."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP, request_timeout_ms=TIMEOUT_MS)
    try:
        # wait_for_metadata: return only once every partition has a leader, so that a
        # producer started next finds the topic ready.
        admin.create_topics({topic: {"num_partitions": partitions, "replication_factor": replication}},
                            timeout_ms=TIMEOUT_MS, wait_for_metadata=True)
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        admin.close()


def end_offsets(topic: str = settings.TOPIC) -> dict[int, int]:
    """{partition: the offset the next record will get}; {} for a topic with no partitions."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.KAFKA_BOOTSTRAP, request_timeout_ms=TIMEOUT_MS)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts]) if parts else {}
        return {tp.partition: end for tp, end in sorted(ends.items())}
    finally:
        consumer.close()


def read(topic: str = settings.TOPIC, start_offsets: dict[int, int] | None = None,
         until_offsets: dict[int, int] | None = None) -> Iterator[tuple[int, int, bytes | None]]:
    """(partition, offset, value) of each record from start_offsets (default: the first)
    up to until_offsets (default: the end now), exclusive. A value is None for a
    tombstone. Stops early if no record arrives for TIMEOUT_MS."""
    from kafka import KafkaConsumer, TopicPartition

    until = end_offsets(topic) if until_offsets is None else until_offsets
    start = start_offsets or {}
    todo = {p: end for p, end in until.items() if end > start.get(p, 0)}
    if not todo:
        return
    consumer = KafkaConsumer(bootstrap_servers=settings.KAFKA_BOOTSTRAP, enable_auto_commit=False,
                             consumer_timeout_ms=TIMEOUT_MS, max_partition_fetch_bytes=8 * 1024 * 1024)
    try:
        parts = {p: TopicPartition(topic, p) for p in todo}
        consumer.assign(list(parts.values()))
        for p, tp in parts.items():
            if p in start:
                consumer.seek(tp, start[p])
            else:  # the first record kept, which need not be offset 0
                consumer.seek_to_beginning(tp)
        for r in consumer:
            if r.offset < todo.get(r.partition, 0):
                yield r.partition, r.offset, r.value
            if r.offset >= todo.get(r.partition, 0) - 1:
                todo.pop(r.partition, None)
                consumer.pause(parts[r.partition])
            if not todo:
                return
    finally:
        consumer.close()
