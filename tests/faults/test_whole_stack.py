"""A restart of the whole stack through the Make targets a user types (`make down`, `make
up SERVICES=...`, `make stream`): every service stops and frees its port, the data stays,
events sent while the stream is down wait on the topic, and the stream resumes from its
last commit."""
import pytest

from game_events import settings
from game_events.storage import checkpoint
from stack import services
from stack.processes import port_free
from tests.support.commands import make
from tests.support.engines import hdfs_names, presto_rows, stream_lag
from tests.support.load import audit, send
from tests.support.services import pid_of

pytestmark = pytest.mark.timeout(1200, func_only=True)


def test_whole_stack_restart_keeps_data_and_the_stream_resumes(pipeline, tag):
    before = send(tag, 40, "before")
    audit(tag, before, "whole-stack restart: before")
    files = hdfs_names(settings.EVENTS_PATH)
    committed = checkpoint.committed_offsets()

    make("down")
    running = {s.name for s in services.SERVICES if pid_of(s.name)}
    held = {s.name: s.port for s in services.SERVICES if s.owns_port and not port_free(s.port)}
    assert not running and not held, (running, held)

    make("up", "SERVICES=infra api")
    assert pid_of("stream") is None  # the stream really is down while these are sent
    while_down = send(tag, 40, "whiledown")
    # Nothing moved while the job was down: it will start from its last commit.
    assert checkpoint.committed_offsets() == committed
    assert sum(stream_lag().values()) >= 40
    make("stream")

    figures = audit(tag, before + while_down, "whole-stack restart: after")
    assert figures["acknowledged"] == figures["landed"] == 80
    assert files <= hdfs_names(settings.EVENTS_PATH)
    assert {"hive_events", "hive_bad_events"} <= {r[0] for r in presto_rows("show tables")}
