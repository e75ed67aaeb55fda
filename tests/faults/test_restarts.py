"""DataNode and metastore restarts while events flow: the stream rides them out in the
same process, restarting its query from the checkpoint, and loses and duplicates nothing."""
import time

import pytest

from tests.support.commands import launcher
from tests.support.engines import stream_progress
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import kill, pid_of
from tests.support.waits import wait_for_commits

pytestmark = pytest.mark.timeout(1200, func_only=True)
DATANODE_DOWN_S, METASTORE_DOWN_S = 20, 10  # how long each fault lasts


def test_datanode_and_metastore_restarts_lose_and_duplicate_nothing(pipeline, tag):
    stream_pid = pid_of("stream")
    with Load(tag, threads=4) as load:
        load.wait_answered(20)
        wait_for_commits(1)  # a batch of this load landed: the progress file is current
        restarts_before = stream_progress()["restarts"]
        kill("datanode")
        time.sleep(DATANODE_DOWN_S)  # the fault itself: no condition to wait for
        launcher("up", "datanode")
        wait_for_commits(1, timeout=240)  # the stream lands batches again
        kill("metastore")
        time.sleep(METASTORE_DOWN_S)
        launcher("up", "metastore")
        load.wait_answered(20, after=time.monotonic())
    audit(tag, load.sent, "DataNode down 20 s, then metastore down 10 s")
    # The job rode it out in the same process, restarting its query from the checkpoint.
    assert pid_of("stream") == stream_pid
    progress = stream_progress()
    record_figure("DataNode/metastore restarts: stream query restarts during the faults",
                  progress["restarts"] - restarts_before)
    assert progress["restarts"] > restarts_before, progress
