"""What the running job tells the launcher: its counters since it started (written to
STREAM_PROGRESS_FILE after each batch, for `status`) and that its query runs
(STREAM_READY_FILE). With neither file configured, nothing is written."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from game_events import settings

# Counted since the job started.
TOTALS = {"batches": 0, "landed": 0, "quarantined": 0, "duplicates": 0, "restarts": 0}
# What the job runs with, once chosen (the parser: see parsers.active).
CHOSEN: dict[str, str] = {}


def write_progress(**extra) -> None:
    if not settings.STREAM_PROGRESS_FILE:
        return
    tmp = settings.STREAM_PROGRESS_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump({**TOTALS, **CHOSEN, **extra, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
    os.replace(tmp, settings.STREAM_PROGRESS_FILE)  # a reader never sees half a file


def mark_ready() -> None:
    if settings.STREAM_READY_FILE:
        Path(settings.STREAM_READY_FILE).touch()
