"""The compaction job's command line: how it reads an age."""
import pytest

from game_events.storage import compaction


def test_periods():
    assert [compaction.seconds(p) for p in ("90s", "15m", "1h", "2d", "30")] == [90, 900, 3600, 172800, 30]
    with pytest.raises(ValueError):
        compaction.seconds("soon")
