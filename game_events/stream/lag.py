"""How far the stream lags behind the topic, per partition: the topic's end offsets less the
offsets up to which the stream has committed batches, read from its checkpoint in HDFS, so
this works while the job is down. `status` and the lag exporter both use it."""
from __future__ import annotations

from game_events import settings


def lag(ends: dict[int, int], committed: dict[int, int]) -> dict[int, dict[str, int]]:
    """Per partition of the topic: its end offset, the stream's committed one (0 before the
    stream committed a batch that read it) and the difference."""
    return {part: {"end": end, "committed": committed.get(part, 0), "lag": end - committed.get(part, 0)}
            for part, end in sorted(ends.items())}


def committed_offsets(timeout_s: float = 60) -> dict[int, int]:
    from game_events.storage import checkpoint
    from game_events.storage.webhdfs import WebHdfs

    return checkpoint.committed_offsets(settings.CHECKPOINT_PATH, hdfs=WebHdfs(timeout=timeout_s))


def end_offsets(timeout_s: float = 10) -> dict[int, int]:
    from game_events import topic

    return topic.end_offsets(settings.TOPIC, timeout_s)


def stream_lag() -> dict[int, dict[str, int]]:
    """lag() of the checkpoint in HDFS and the topic in Kafka now; raises when either is unreachable."""
    return lag(end_offsets(), committed_offsets())
