"""The one reader of the streaming job's checkpoint in HDFS (Spark's layout): which batch
committed last, and up to which Kafka offsets. Read over WebHDFS, so it works while the
job is down; compaction and the launcher's lag report use it.

Spark writes offsets/<id> when batch <id> starts (a version line, the batch's metadata,
then its end offsets per topic and partition as JSON) and commits/<id> when it is done.
"""
from __future__ import annotations

import json

from game_events import settings
from game_events.storage.webhdfs import WebHdfs


def last_committed_batch(path: str = settings.CHECKPOINT_PATH, hdfs: WebHdfs | None = None) -> int | None:
    """The newest batch id the checkpoint records as committed, None if none: Spark
    replays only batches after it."""
    ids = [int(name) for name in (hdfs or WebHdfs()).names(f"{path}/commits") if name.isdigit()]
    return max(ids, default=None)


def committed_offsets(path: str = settings.CHECKPOINT_PATH, topic: str = settings.TOPIC,
                      hdfs: WebHdfs | None = None) -> dict[int, int]:
    """{partition: offset} up to which the stream has committed batches; {} before the
    first commit."""
    hdfs = hdfs or WebHdfs()
    done = last_committed_batch(path, hdfs)
    if done is None:
        return {}
    last = hdfs.read(f"{path}/offsets/{done}").decode().splitlines()[-1]
    return {int(p): o for p, o in json.loads(last).get(topic, {}).items()}
