"""The engines as the tests see them, through the product's own clients: Presto, WebHDFS,
the stream's checkpoint and progress file, and the topic."""
from __future__ import annotations

import json

from confluent_kafka import KafkaException

from game_events import presto, settings, topic
from game_events.storage import checkpoint
from game_events.storage.webhdfs import WebHdfs
from stack.services import STREAM_PROGRESS

# Errors that mean "Kafka or HDFS is not answering right now", while a fault test waits.
UNAVAILABLE = (OSError, KafkaException)


def presto_rows(sql: str, timeout: float | None = None) -> list[tuple]:
    """Every row of one query, bounded by `timeout` (settings.PRESTO_TIMEOUT_S by default)."""
    return [tuple(r) for r in presto.rows(sql, timeout=timeout)]


def hdfs_names(path: str) -> set[str]:
    """The names in an HDFS folder. Only "no such folder" reads as empty (WebHdfs.list);
    any other error (HDFS down, a bad answer) is raised."""
    return WebHdfs().names(path)


def stream_lag() -> dict[int, int]:
    """Per partition of the topic: records the stream has not committed yet."""
    committed = checkpoint.committed_offsets()
    return {p: end - committed.get(p, 0) for p, end in topic.end_offsets().items()}


def caught_up() -> bool:
    """True once the stream has committed every record on the topic."""
    try:
        return all(lag == 0 for lag in stream_lag().values())
    except UNAVAILABLE:  # Kafka or HDFS still coming back
        return False


def stream_progress() -> dict:
    """The counters the stream writes after each batch and each restart, in the file the
    launcher gives it (STREAM_PROGRESS_FILE)."""
    return json.loads(STREAM_PROGRESS.read_text())


def topic_end(name: str = settings.TOPIC) -> int:
    return topic.end_offsets(name)[0]


def topic_values(start: int, name: str = settings.TOPIC) -> list[bytes | None]:
    """The values on partition 0 of a topic from `start` to its current end."""
    return [value for _, _, value in topic.read(name, {0: start})]


def topic_events(start: int, tag: str, name: str = settings.TOPIC) -> list[dict]:
    """The events on the topic since `start` that carry `tag`. The topic may hold
    tombstones (a null value) from other tests; the stream quarantines those."""
    return [json.loads(v) for v in topic_values(start, name) if v is not None and tag.encode() in v]
