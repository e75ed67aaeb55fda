"""Measured figures for the issue notes, appended to var/test-figures.txt (CI prints it)."""
from __future__ import annotations

import time

from game_events import settings


def record_figure(name: str, value) -> None:
    out = settings.DATA / "test-figures.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {name}: {value}\n")
