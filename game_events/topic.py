"""The one Kafka topic helper (confluent-kafka): the brokers, a topic's partitions' leaders
and in-sync replicas, create or delete a topic,
write records to it, read its end offsets, read its records. Every call is bounded and raises KafkaException (or
OSError) when Kafka does not answer; the API's producer lives in game_events.api."""
from __future__ import annotations

import time
from typing import Iterator

from game_events import settings

TIMEOUT_S = 10.0


def _config(**extra) -> dict:
    # librdkafka logs every refused connection to stderr; these short-lived clients raise
    # or time out instead, so their callers say what went wrong.
    return {"bootstrap.servers": settings.KAFKA_BOOTSTRAP, "log_level": 0, "error_cb": lambda err: None,
            "socket.timeout.ms": int(TIMEOUT_S * 1000), **extra}


def _consumer(**extra):
    from confluent_kafka import Consumer

    # A group id librdkafka requires; nothing subscribes or commits, so no group forms.
    return Consumer(_config(**{"group.id": "game-events-topic-helper", "enable.auto.commit": False, **extra}))


def brokers(bootstrap: str = settings.KAFKA_BOOTSTRAP, timeout_s: float = TIMEOUT_S) -> set[int]:
    """The node ids of the brokers the cluster's metadata lists (registered and unfenced),
    asked of `bootstrap`: a readiness call."""
    from confluent_kafka.admin import AdminClient

    return set(AdminClient(_config(**{"bootstrap.servers": bootstrap})).list_topics(timeout=timeout_s).brokers)


def partitions(topic: str = settings.TOPIC, timeout_s: float = TIMEOUT_S) -> dict[int, tuple[int, list[int]]]:
    """{partition: (leader's node id, in-sync replicas' node ids)} of a topic, from the
    cluster's metadata."""
    from confluent_kafka.admin import AdminClient

    meta = AdminClient(_config()).list_topics(topic, timeout=timeout_s).topics[topic]
    return {p: (m.leader, sorted(m.isrs)) for p, m in meta.partitions.items()}


def assignment(brokers: list[int], partitions: int, replication: int) -> list[list[int]]:
    """Each partition's replicas, the first its preferred leader: rotated over the brokers so
    every broker is preferred for an equal share of the partitions."""
    if replication > len(brokers):
        raise ValueError(f"replication factor {replication} is more than the {len(brokers)} brokers {brokers}")
    return [[brokers[(p + i) % len(brokers)] for i in range(replication)] for p in range(partitions)]


def create(topic: str = settings.TOPIC, partitions: int = 1, replication: int = settings.TOPIC_REPLICATION,
           brokers: list[int] | None = None) -> bool:
    """Creates the topic; False if it existed already (so calling it again is harmless).
    Returns only once every partition has a leader, so a producer started next finds it.

    Given the brokers, it places the replicas itself: Kafka's own placement never makes a
    fenced broker a preferred leader, so a broker still catching up at creation would lead
    nothing until a reassignment (a CI run's cluster got broker 3 preferred for all six)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(_config())
    config = {"min.insync.replicas": str(settings.KAFKA_MIN_ISR)}
    # librdkafka takes a replica assignment only with the partition count and no replication factor.
    new = (NewTopic(topic, partitions, -1, replica_assignment=assignment(brokers, partitions, replication),
                    config=config) if brokers else NewTopic(topic, partitions, replication, config=config))
    future = admin.create_topics([new], operation_timeout=TIMEOUT_S,
                                 request_timeout=TIMEOUT_S)[topic]
    try:
        future.result(timeout=TIMEOUT_S + 5)
        created = True
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
        created = False
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        meta = admin.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        parts = meta.partitions if meta and meta.error is None else {}
        if len(parts) == partitions and all(p.leader >= 0 and p.error is None for p in parts.values()):
            return created
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic}: no leader for every partition within {TIMEOUT_S} s")
        time.sleep(0.1)


def delete(topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(_config())  # kept until the result: a collected client fails its futures
    admin.delete_topics([topic], operation_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S + 5)


def produce(topic: str, values: list[bytes | None], key: bytes | None = None, timeout_s: float = 60,
            partition: int | None = None, timestamp_ms: int | None = None, **config) -> list[int]:
    """Writes values in order (acks=all) and returns each one's offset, once Kafka has
    stored them all (in `partition`, or where the key sends them; stamped `timestamp_ms`, or
    now); raises if any was refused or the wait ran out. For tools and tests:
    the API's producer is game_events.api.event_log."""
    from confluent_kafka import KafkaException, Producer

    offsets: list[int | None] = [None] * len(values)
    errors = []

    def report(i, err, msg):
        if err is None:
            offsets[i] = msg.offset()
        else:
            errors.append(err)

    producer = Producer(_config(**{"acks": "all", "linger.ms": 20, **config}))
    for i, value in enumerate(values):
        where = {} if partition is None else {"partition": partition}
        if timestamp_ms is not None:
            where["timestamp"] = timestamp_ms
        producer.produce(topic, value, key=key, on_delivery=lambda err, msg, i=i: report(i, err, msg), **where)
        producer.poll(0)
    left = producer.flush(timeout_s)
    if errors or left:
        raise KafkaException(errors[0] if errors else f"{left} records not acknowledged within {timeout_s} s")
    return offsets


def end_offsets(topic: str = settings.TOPIC, timeout_s: float = TIMEOUT_S) -> dict[int, int]:
    """{partition: the offset the next record will get}; {} for a topic with no partitions."""
    from confluent_kafka import TopicPartition

    consumer = _consumer()
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        parts = sorted(meta.partitions) if meta and meta.error is None else []
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1] for p in parts}
    finally:
        consumer.close()


def read(topic: str = settings.TOPIC, start_offsets: dict[int, int] | None = None,
         until_offsets: dict[int, int] | None = None) -> Iterator[tuple[int, int, bytes | None]]:
    """(partition, offset, value) of each record from start_offsets (default: the first)
    up to until_offsets (default: the end now), exclusive. A value is None for a
    tombstone. Stops early if no record arrives for TIMEOUT_S."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

    until = end_offsets(topic) if until_offsets is None else until_offsets
    start = start_offsets or {}
    todo = {p: end for p, end in until.items() if end > start.get(p, 0)}
    if not todo:
        return
    # Records of up to 8 MiB in one fetch (the poison test writes 1 MB ones).
    consumer = _consumer(**{"max.partition.fetch.bytes": 8 * 1024 * 1024})
    try:
        # From start_offsets, else the first record kept, which need not be offset 0.
        consumer.assign([TopicPartition(topic, p, start.get(p, OFFSET_BEGINNING)) for p in todo])
        last = time.monotonic()
        while todo and time.monotonic() - last < TIMEOUT_S:
            # consume() waits for all 500 or its timeout: a short one, polled again.
            records = consumer.consume(500, timeout=0.1)
            last = time.monotonic() if records else last
            for r in records:
                if r.error():
                    raise KafkaException(r.error())
                p, offset = r.partition(), r.offset()
                if offset < todo.get(p, 0):
                    yield p, offset, r.value()
                if p in todo and offset >= todo[p] - 1:
                    del todo[p]
                    consumer.pause([TopicPartition(topic, p)])
    finally:
        consumer.close()
