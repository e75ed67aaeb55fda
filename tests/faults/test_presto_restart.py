"""Presto restarted: a query sent the moment the launcher calls it ready gets its answer.
For a few seconds after start-up Presto runs `select 1` (its readiness probe) but has no
node to scan a hive table on yet; the project's Presto client waits that out."""
import pytest

from game_events import presto, settings
from stack.processes import port_free
from tests.support.commands import launcher
from tests.support.services import kill
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)


def test_a_hive_query_right_after_presto_is_ready_is_answered(pipeline):
    before = presto.scalar(f"select count(*) from {settings.EVENTS_TABLE}")
    kill("presto")
    # The JVM's listening socket outlives its pid file's process by a moment after SIGKILL.
    wait_for(lambda: port_free(settings.PRESTO_PORT), 60, what="presto's port to be free")
    launcher("up", "presto")  # returns once the readiness probe passes
    # The stream may land rows meanwhile: never fewer than before.
    assert presto.scalar(f"select count(*) from {settings.EVENTS_TABLE}") >= before
