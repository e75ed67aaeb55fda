"""The streaming job SIGKILLed in each phase of a batch, while events flow (each sent twice
with its id) and Presto is queried without pause: no moment shows a partial or duplicated
batch, and every acknowledged event lands exactly once."""
import threading
import time

import pytest
from pyhive.exc import DatabaseError

from game_events import settings
from tests.support.commands import launcher
from tests.support.engines import hdfs_names, presto_rows
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import kill
from tests.support.waits import wait_for, wait_for_commits

pytestmark = pytest.mark.timeout(1200, func_only=True)
CHECKPOINT = settings.CHECKPOINT_PATH
# Phases of a batch, one kill in each: its parquet file half written, its file in the
# table but the batch not committed (the replay must not land it twice), and its offsets
# written but nothing landed yet.
PHASES = ("writing to staging", "renamed, not committed", "offsets written")
PHASE_TIMEOUT_S = 180  # some eighteen 10 s triggers to catch a batch in a phase
POLLS_WHILE_DEAD = 2  # Presto polls made after each kill, before the restart


def ids(folder: str) -> set[int]:
    return {int(n) for n in hdfs_names(folder) if n.isdigit()}


def batch_in_flight() -> int | None:
    """The id of the newest batch the job has started (offsets written) but not committed."""
    pending = ids(f"{CHECKPOINT}/offsets") - ids(f"{CHECKPOINT}/commits")
    return max(pending) if pending else None


def phase_of(n: int) -> str:
    """Where batch n stands, as HDFS shows it."""
    if n in ids(f"{CHECKPOINT}/commits"):
        return "committed"
    if f"batch-{n:012d}.parquet" in hdfs_names(settings.EVENTS_PATH):
        return "renamed, not committed"
    if f"batch-{n:012d}" in hdfs_names(f"{settings.EVENTS_PATH}/.staging"):
        return "writing to staging"
    return "offsets written"


def kill_stream_during(phase: str) -> tuple[str, int, int, float]:
    """SIGKILLs the stream once a batch is in `phase`; returns the phase the batch was
    left in (read once the job is dead), its id, the attempts it took and when (monotonic)
    the kill that counted was made. A kill that
    lands a step late (the job moved on between the look and the kill) is retried after
    a restart; no phase stands in for another, and the whole is bounded in time."""
    deadline, attempts = time.monotonic() + PHASE_TIMEOUT_S, 0
    while time.monotonic() < deadline:
        n = batch_in_flight()
        if n is None or phase_of(n) != phase:
            time.sleep(0.02)
            continue
        t_kill = time.monotonic()
        kill("stream")
        attempts += 1
        left_in = phase_of(n)
        if left_in == phase:
            return left_in, n, attempts, t_kill
        launcher("up", "stream")
    raise AssertionError(f"no batch caught in phase {phase!r} within {PHASE_TIMEOUT_S}s ({attempts} late kills)")


class Watcher(threading.Thread):
    """Queries Presto over and over while faults happen; notes any moment at which a row
    is counted twice, a landed file changes or vanishes, or a staging file is visible."""

    def __init__(self, tag: str):
        super().__init__(daemon=True)
        self.tag, self.violations, self.errors = tag, [], []
        self.polls: list[float] = []  # when each poll that got its answers started
        self.files: dict[str, int] = {}
        self._done = threading.Event()

    def run(self):
        where = f"where user like '%-{self.tag}'"
        while not self._done.is_set():
            t0 = time.monotonic()
            try:
                files = dict(presto_rows(f'select "$path", count(*) from hive_events {where} group by 1', timeout=60))
                ((rows, users),) = presto_rows(f"select count(*), count(distinct user) from hive_events {where}",
                                               timeout=60)
            except (DatabaseError, OSError, TimeoutError) as e:  # Presto or HDFS briefly unavailable
                self.errors.append(f"{type(e).__name__}: {str(e)[:200]}")
                time.sleep(0.5)
                continue
            self.polls.append(t0)
            if rows != users:
                self.violations.append(f"{rows - users} duplicate rows visible")
            for path, n in files.items():
                if "/." in path:
                    self.violations.append(f"hidden file visible: {path}")
                if self.files.setdefault(path, n) != n:
                    self.violations.append(f"{path} had {self.files[path]} rows, now {n}")
            self.violations += [f"{p} vanished" for p in self.files.keys() - files.keys()]
            time.sleep(0.3)

    def polls_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.polls if start <= t <= end)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self.join(90)


def test_stream_sigkilled_mid_batch_never_shows_partial_or_duplicate_rows(pipeline, tag):
    kills, restarted = [], []
    # Each client sends every event twice, the copy (same id) after its next event: copies
    # straddle the batches and the kills, and the deduplication drops each one.
    with Watcher(tag) as watcher, Load(tag, threads=3, pause=0.1, retry=True, resend_previous=True) as load:
        for phase in PHASES:
            kills.append(kill_stream_during(phase))
            # Presto's view while the job lies dead with the batch in this phase.
            wait_for(lambda: watcher.polls_between(kills[-1][3], time.monotonic()) >= POLLS_WHILE_DEAD, 60,
                     what=f"{POLLS_WHILE_DEAD} Presto polls after the kill in phase {phase!r}")
            launcher("up", "stream")
            restarted.append(time.monotonic())
        wait_for_commits(1)  # the restarted job lands a batch again
    record_figure("stream SIGKILLs (phase, batch id, attempts)", [k[:3] for k in kills])
    assert [phase for phase, *_ in kills] == list(PHASES)
    figures = audit(tag, load.sent, f"stream SIGKILLed {len(kills)} times mid-batch")
    record_figure("stream SIGKILLs: Presto polls, violations, failed polls",
                  (len(watcher.polls), len(watcher.violations), len(watcher.errors)))
    # Every kill was watched while the job lay dead (the polls were counted above), and
    # while its replay ran after the restart.
    after = [watcher.polls_between(t, t + 30) for t in restarted]
    assert all(after), after
    assert watcher.violations == [], watcher.violations
    assert figures["acknowledged"] == figures["landed"]
    copies = sum(1 for s in load.sent if s.status == 200) - figures["acknowledged"]
    assert copies >= figures["acknowledged"] - 3, (copies, figures)  # all but each client's last
