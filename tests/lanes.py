"""`make test`: every test session, in two lanes that run side by side.

The stack's tests mostly wait (on the stream's 10 s trigger, on a restart, on a broker's
fencing) while the cores idle, so two lanes share the machine well:

- "stack": the compose run, the unit tests and tests/stack, on the single-node stack that
  `make up` started (var/, the default ports);
- "faults": tests/faults on a single-node stack of their own (var-faults/), which the
  session starts; that stack is then stopped and tests/cluster runs on the cluster
  profile (var-cluster/). Both at STACK_PORT_OFFSET, clear of the first lane's ports.

Each lane's steps run in order, each step to its end even after a failure; each line is
printed as it comes, after its lane's name, and the machine's peak memory in use at the
end (the cluster beside the single-node stack). The exit status is 1 when any step failed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = (sys.executable, "-m", "pytest", "-v", "--durations=15")
STACK = (sys.executable, "-m", "stack")
# Every default port + 1000 stays clear of the default set and under Linux's ephemeral range.
SECOND = {"STACK_PORT_OFFSET": "1000"}
FAULTS = {"STACK_PROFILE": "local", "STACK_DATA": str(ROOT / "var-faults"), **SECOND}
CLUSTER = {"STACK_PROFILE": "cluster", **SECOND}

# lane -> its steps: (what, argv, environment)
LANES: dict[str, tuple[tuple[str, tuple[str, ...], dict[str, str]], ...]] = {
    "stack": (
        ("compose, unit and single-node tests", (*PYTEST, "tests/compose", "tests/unit", "tests/stack"),
         {"STACK_PROFILE": "local"}),
    ),
    "faults": (
        ("fault tests on a stack of their own", (*PYTEST, "tests/faults"), FAULTS),
        ("that stack stopped", (*STACK, "down"), FAULTS),
        ("cluster tests", (*PYTEST, "tests/cluster"), CLUSTER),
    ),
}
WIDTH = max(map(len, LANES))


def run_lane(name: str, steps, out_lock: threading.Lock, results: list, procs: list) -> None:
    for what, argv, env in steps:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        procs.append(proc)
        for line in proc.stdout:
            with out_lock:
                sys.stdout.write(f"{name:<{WIDTH}} | {line}")
                sys.stdout.flush()
        rc = proc.wait()
        results.append((name, what, rc, time.monotonic() - t0))


def memory_in_use_gib() -> float:
    info = dict(ln.split(":", 1) for ln in Path("/proc/meminfo").read_text().splitlines())
    kib = lambda key: int(info[key].split()[0])
    return (kib("MemTotal") - kib("MemAvailable")) / 2**20


def main() -> int:
    lock, results, procs = threading.Lock(), [], []
    peak = [memory_in_use_gib()]
    threads = [threading.Thread(target=run_lane, args=(name, steps, lock, results, procs), daemon=True)
               for name, steps in LANES.items()]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(1)
                peak[0] = max(peak[0], memory_in_use_gib())
    finally:
        # Interrupted: each step's whole process group (pytest and what it started).
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
    for name, what, rc, took in results:
        print(f"{name:<{WIDTH}} | {what}: {'passed' if rc == 0 else f'FAILED (exit {rc})'} in {took:.0f}s")
    print(f"all lanes done in {time.monotonic() - t0:.0f}s; memory in use on this machine peaked at "
          f"{peak[0]:.1f} GiB of {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f}")
    expected = sum(len(steps) for steps in LANES.values())
    return 0 if len(results) == expected and all(rc == 0 for _, _, rc, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
