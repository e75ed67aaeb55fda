"""The README's cluster block ("Running on a cluster"), run as written, line by line, each
line's output checked against what its comment promises. It runs without STACK_PROFILE, as
a user's shell would: the README says every target without PROFILE then acts on the
running cluster. Lines this session cannot run are in SKIPPED, with the reason; a line
added to the README fails the test until it is run or skipped here."""
import os
import re
import subprocess
import tempfile
import time

import pytest

from game_events import settings
from game_events.analytics.queries import QUESTIONS
from stack import services
from tests.support.children import stop
from tests.support.commands import ROOT

pytestmark = pytest.mark.timeout(900, func_only=True)
SKIPPED = {
    "make down": "the session fixture `pipeline` stops the cluster when the session ends",
    "make bench PROFILE=cluster": "tens of minutes; tests/stack/test_bench.py runs the bench scripts at smoke size",
}
# A user's shell: no STACK_PROFILE (the profile comes from var/active-profile), and no
# make of ours around it (`make test-cluster`'s variables would make each make print its
# directory and reach for its jobserver).
ENV = {k: v for k, v in os.environ.items() if k not in ("STACK_PROFILE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
KAFKA_LOG_LINE = re.compile(r"\[\d{4}-\d\d-\d\d [\d:,]+\] [A-Z]+ .*\)$")  # stack/templates/kafka/log4j2.properties


def cluster_block() -> list[str]:
    """The commands of the README's fenced block that starts with `make up PROFILE=cluster`,
    their comments stripped."""
    blocks, block = [], None
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```") and block is None:  # a fence opens a block
            block = []
        elif line.startswith("```"):  # and the next one closes it
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(line)
    block = next(b for b in blocks if b and b[0].startswith("make up PROFILE=cluster"))
    return [re.sub(r"\s+#.*", "", ln).strip() for ln in block if ln.strip()]


def sh(cmd: str, timeout: float) -> str:
    res = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=ENV, capture_output=True, text=True, errors="replace",
                         timeout=timeout)
    assert res.returncode == 0, (cmd, res.returncode, res.stdout[-3000:], res.stderr[-3000:])
    return res.stdout


def follow(cmd: str, until: re.Pattern, timeout: float) -> str:
    """Runs a command that follows a file for ever until its output matches `until` (or for
    `timeout` seconds), then stops its process group; returns its complete lines."""
    def lines() -> str:
        out.seek(0)
        text = out.read()
        return text[:text.rfind("\n") + 1]  # a line still being written is left out

    with tempfile.TemporaryFile("w+", errors="replace") as out:
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=ROOT, env=ENV, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # tail is make's grandchild: stop the group
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None and not until.search(lines()):
                time.sleep(0.5)
        finally:
            stop(proc, group=True)
        return lines()


def test_the_cluster_block_runs_as_written(pipeline):
    lines = cluster_block()
    ran = []
    for cmd in lines:
        if cmd in SKIPPED:
            continue
        ran.append(cmd)
        if cmd == "make up PROFILE=cluster":
            # The fixture brought the cluster up with the launcher: up is idempotent, and
            # starts nothing that runs.
            out = sh(cmd, 600)
            assert "up: the cluster profile ready in" in out and "started (pid" not in out, out
        elif cmd == "make demo PROFILE=cluster":
            # up pipeline (all running), then the seed's mix sent, landed and queried.
            out = sh(cmd, 600)
            assert "up: the cluster profile ready in" in out and "demo done" in out, out
            assert all(q.title in out for q in QUESTIONS if q.in_demo), out
        elif cmd == "make status":
            # Without PROFILE it acts on the running cluster: every service listed, healthy.
            out = sh(cmd, 120)
            assert f"profile cluster, data in {ROOT / 'var-cluster'}" in out, out
            for name in services.GROUPS["pipeline"]:  # what `make demo` started
                assert re.search(rf"^{name}\s+\d+\s+\d+\s+healthy", out, re.M), (name, out)
        elif cmd == "bin/kafka-topics --describe --topic events":
            out = sh(cmd, 120)
            assert re.search(r"PartitionCount: 6\s+ReplicationFactor: 3", out), out
            assert "min.insync.replicas=2" in out, out
        elif cmd == "bin/kafka-metadata-quorum describe --status":
            out = sh(cmd, 120)
            voters = re.findall(r'\{"id": (\d+)', re.search(r"^CurrentVoters:(.*)", out, re.M)[1])
            assert sorted(voters) == [str(n.node_id) for n in settings.KAFKA_NODES], out
            assert re.search(r"^LeaderId:\s+(\d+)", out, re.M)[1] in voters, out
        elif cmd == "make logs S=kafka2":
            # It follows the log for ever (tail -F): read until Kafka's log lines come.
            out = follow(cmd, re.compile(KAFKA_LOG_LINE.pattern, re.M), 60)
            # Kafka's lines, from kafka2's log under var-cluster/logs/.
            shown = [ln for ln in out.splitlines() if KAFKA_LOG_LINE.match(ln)]
            log = (ROOT / "var-cluster" / "logs" / "kafka2.log").read_text(errors="replace").splitlines()
            assert shown and set(shown) <= set(log), out[-3000:]
        else:
            pytest.fail(f"the README's cluster block has a line this test neither runs nor skips: {cmd!r}")
    assert sorted(lines) == sorted(ran + list(SKIPPED)), (lines, ran, SKIPPED)
