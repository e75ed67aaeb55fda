"""Presto restarted: a query sent the moment the launcher calls it ready gets its answer.
For a few seconds after start-up Presto runs `select 1` (its readiness probe) but has no
node to scan a hive table on yet; the project's Presto client waits that out."""
import pytest

from game_events import presto, settings
from tests.support.commands import launcher
from tests.support.services import kill

pytestmark = pytest.mark.timeout(300, func_only=True)


def test_a_hive_query_right_after_presto_is_ready_is_answered(pipeline):
    before = presto.scalar(f"select count(*) from {settings.EVENTS_TABLE}")
    kill("presto")
    launcher("up", "presto")  # returns once the readiness probe passes
    # The stream may land rows meanwhile: never fewer than before.
    assert presto.scalar(f"select count(*) from {settings.EVENTS_TABLE}") >= before
