"""Which profile a command acts on: STACK_PROFILE, else the one that is running.

`up` of the cluster profile records its name in ACTIVE_FILE and `down` removes it, so
that a command without STACK_PROFILE acts on whichever profile is running. The entry
points set STACK_PROFILE from it before game_events.settings is imported, which reads
the environment alone: `python -m stack` (and through it bin/_env.sh) with choose(), the
Makefile with its own `cat` of the file. This module imports nothing of the project.
"""
from __future__ import annotations

import os
from pathlib import Path

ACTIVE_FILE = Path(__file__).resolve().parent.parent / "var" / "active-profile"


def choose() -> None:
    """Sets STACK_PROFILE to the running profile unless the caller set it."""
    if not os.environ.get("STACK_PROFILE") and ACTIVE_FILE.exists():
        os.environ["STACK_PROFILE"] = ACTIVE_FILE.read_text().strip()
