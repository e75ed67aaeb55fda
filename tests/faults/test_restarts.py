"""DataNode and metastore outages while events flow. The DataNode's loss fails the
streaming query, which restarts itself from its checkpoint in the same process; the
metastore's loss stops Presto's queries but not the stream, which never calls it. Each
fault is shown to have happened and to have caused what it is said to, and nothing is
lost or landed twice. A permanent error stops the job after STREAM_MAX_FAILURES."""
import json
import os
import re
import time

import pytest
from pyhive.exc import DatabaseError

from game_events import presto, settings
from game_events.storage.webhdfs import WebHdfs
from tests.support.commands import BIN, ROOT, launcher, run
from tests.support.engines import stream_progress
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import kill, pid_of
from tests.support.waits import wait_for, wait_for_commits

pytestmark = pytest.mark.timeout(1200, func_only=True)
# A batch started while the only DataNode is gone fails its first write: the query fails
# within a trigger or two (10 s each) and the HDFS client's connect retries; 120 s is
# ample, and the README states the bound.
QUERY_FAILS_WITHIN_S = 120
METASTORE_DOWN_BATCHES = 2  # batches that must land while the metastore is down
MAX_FAILURES = 2  # the stop's test: its pauses are 2 s and 4 s


def restarts() -> int:
    return stream_progress()["restarts"]


def test_a_datanode_loss_restarts_the_query_and_a_metastore_loss_does_not(pipeline, tag):
    stream_pid = pid_of("stream")
    with Load(tag, threads=4) as load:
        load.wait_answered(20)
        wait_for_commits(1)  # a batch of this load landed: the progress file is current
        before = stream_progress()

        kill("datanode")
        _, failed_after = wait_for(lambda: restarts() > before["restarts"], QUERY_FAILS_WITHIN_S,
                                   what="the streaming query to fail without its DataNode")
        error = stream_progress()["last_error"]
        launcher("up", "datanode")
        _, landed_after = wait_for(lambda: stream_progress()["batches"] > before["batches"], 240,
                                   what="a batch landed once the DataNode is back")
        after_datanode = restarts()

        kill("metastore")
        with pytest.raises(DatabaseError, match="(?i)metastore"):  # the fault happened: Presto cannot plan a hive query
            presto.rows(f"select count(*) from {settings.EVENTS_TABLE}", timeout=60)
        wait_for_commits(METASTORE_DOWN_BATCHES, timeout=120)  # the stream lands on meanwhile
        during_metastore = restarts()
        launcher("up", "metastore")
        load.wait_answered(20, after=time.monotonic())
    audit(tag, load.sent, "DataNode down until the query failed, then the metastore down for two batches")
    record_figure("DataNode loss: seconds from the kill to the query's failure; from the DataNode's start to a batch "
                  "landed; query restarts", (round(failed_after, 1), round(landed_after, 1),
                                             after_datanode - before["restarts"]))
    assert pid_of("stream") == stream_pid  # the job rode both out in the same process
    assert error, "the failure was recorded in the progress file"
    # Each restart belongs to its fault: none while the metastore was down, nor after.
    assert during_metastore == after_datanode == restarts(), (after_datanode, during_metastore, restarts())


def test_the_stream_stops_after_stream_max_failures_failures_in_a_row(pipeline, tag, tmp_path):
    """A permanent error stops the job instead of looping for ever: a second job whose
    checkpoint sits under an HDFS file fails each start, restarts STREAM_MAX_FAILURES
    times with its growing pause, then exits non-zero."""
    base = f"/tmp/test-max-failures-{tag}"
    WebHdfs().create(f"{base}/a-file", b"not a folder")
    progress = tmp_path / "progress.json"
    env = {**os.environ, "STREAM_MAX_FAILURES": str(MAX_FAILURES), "STREAM_PROGRESS_FILE": str(progress),
           "CHECKPOINT_PATH": f"{base}/a-file/checkpoint", "EVENTS_PATH": f"{base}/events",
           "BAD_EVENTS_PATH": f"{base}/bad_events"}
    try:
        res = run(BIN / "spark-submit", ROOT / "write_event_stream.py", env=env, check=False, timeout=300)
    finally:
        WebHdfs().delete(base, recursive=True)
    log = res.stdout + res.stderr
    assert res.returncode != 0, log[-3000:]
    said = re.findall(r"restarting from the checkpoint in \d+s \(failure (\d+) of (\d+) in a row\)", log)
    assert said == [(str(n), str(MAX_FAILURES)) for n in range(1, MAX_FAILURES + 1)], log[-3000:]
    assert json.loads(progress.read_text())["restarts"] == MAX_FAILURES
