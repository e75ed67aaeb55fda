"""Commands the tests run (the launcher, bin/ wrappers, scripts), each bounded in time."""
from __future__ import annotations

import subprocess
import sys

from game_events import settings

ROOT = settings.ROOT
BIN = ROOT / "bin"
PYTHON = str(settings.VENV / "bin" / "python")


def run(*argv, check: bool = True, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def launcher(*args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """`python -m stack ARGS` from the repository root: the launcher's own command line."""
    return run(sys.executable, "-m", "stack", *args, check=check, timeout=timeout, **kw)


def make(*args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """A Make target as a user types it. Silent and without directory lines, which a make
    nested under `make test` would print around the target's own output."""
    return run("make", "-s", "--no-print-directory", *args, check=check, timeout=timeout, **kw)
