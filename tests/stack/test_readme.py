"""The README's local walkthrough, command by command, so the README cannot drift from
the code. Commands that run forever in the README (the API, the stream, the ab loop,
kafkacat following the topic) are run for a bounded time here."""
import os
import re
import subprocess
import time

import pytest
import requests

from game_events import settings
from tests.support.children import stop
from tests.support.commands import ROOT

pytestmark = pytest.mark.timeout(1200, func_only=True)


def walkthrough() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The seed's walkthrough, on the local stack"):]
    block = section[section.index("```\n") + 4:]
    return [ln for ln in block[:block.index("```")].splitlines() if ln.strip()]


def shell(cmd: str, timeout: float, env=None, input=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, errors="replace",
                          timeout=timeout,
                          env={**os.environ, **(env or {})}, input=input)


def bounded(cmd: str, until: str, timeout: float, env=None, stderr_apart: bool = False) -> str:
    """Runs a command that would run forever until its output matches `until` (or for
    `timeout` seconds), then stops it and returns its output (bytes that are not UTF-8, as
    kafkacat prints the quarantine tests' garbage, replaced); with stderr_apart, its
    standard output alone (its standard error goes to a .err file beside it)."""
    log = settings.DATA / f"readme-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f, open(log.with_suffix(".err"), "w") as err:
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=ROOT, stdout=f,
                                stderr=err if stderr_apart else subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not re.search(until, log.read_text(errors="replace")):
            time.sleep(0.5)
    finally:
        stop(proc, group=True)
    return log.read_text(errors="replace")


def test_every_walkthrough_command_works(pipeline, tmp_path):
    lines = walkthrough()
    presto_cli = None
    for line in lines:
        cmd = line.split("  #")[0].strip()
        if cmd.startswith("presto:default> "):
            assert presto_cli, "a Presto statement before the Presto CLI"
            sql = cmd.removeprefix("presto:default> ")
            # The CLI reads statements from standard input, as a person types them; no pager.
            res = shell(presto_cli, 120, input=sql + "\n", env={"PRESTO_PAGER": ""})
            assert res.returncode == 0, res.stderr
            if sql.startswith("describe"):
                assert re.search(r"raw_event\s+\| varchar", res.stdout), res.stdout
                assert "(12 rows)" in res.stdout
            else:
                assert int(re.search(r"(\d+)\s*\n\(1 row\)", res.stdout)[1]) > 0, res.stdout
        elif cmd == "make up":
            assert shell(cmd, 600).returncode == 0
        elif cmd.startswith("FLASK_APP="):
            # The API service already holds port 5000: the development server takes 5001.
            out = bounded(cmd + " --port 5001", r"Running on http://127.0.0.1:5001", 30)
            assert "Running on http://127.0.0.1:5001" in out, out
        elif cmd.startswith("bin/kafkacat -C"):
            # Followed as a person would while the API takes a request: one made here, so the
            # step never depends on what earlier tests wrote to the topic.
            user = f"readme-{os.getpid()}-{time.monotonic_ns()}"
            resp = requests.get(settings.API_URL + "/purchase_a_sword", params={"user": user, "type": "gold"},
                                timeout=20)
            resp.raise_for_status()
            # kafkacat's notices ("% Reached end of topic ...") go to stderr; in one log with
            # stdout they can land in the middle of an event's line.
            out = bounded(cmd, user, 60, stderr_apart=True)
            assert f'"user":"{user}"' in out, out[-3000:]
            # The event as kafkacat prints it starts with the id the reply named. Searched in
            # the raw output, not by lines: other tests' events may hold characters that
            # str.splitlines() splits at (U+2028, NEL), which JSON leaves unescaped.
            found = re.search(r'\{"event_id":"%s",[^{]*?"user":"%s"' % (resp.headers["Event-Id"], user), out)
            at = out.index(f'"user":"{user}"')
            assert found, repr(out[max(0, at - 400):at + 100])
        elif "write_event_stream.py" in cmd:
            # A second stream beside the running one: its own checkpoint and output.
            env = {"CHECKPOINT_PATH": f"/tmp/readme-{os.getpid()}/checkpoint",
                   "EVENTS_PATH": f"/tmp/readme-{os.getpid()}/events",
                   "BAD_EVENTS_PATH": f"/tmp/readme-{os.getpid()}/bad",
                   # Its first batch from the topic's start: a thousand records, not every test's.
                   "MAX_OFFSETS_PER_TRIGGER": "1000"}
            out = bounded(cmd, r"batch \d+: landed [1-9]\d* events", 180, env=env)
            assert re.search(r"batch \d+: landed [1-9]\d* events", out), out[-3000:]
        elif cmd.startswith("while true"):
            out = bounded(cmd, r"sent \d+ requests", 60)
            assert re.search(r"sent \d+ requests, \d+ answered 2xx", out), out
        elif cmd.startswith("bin/presto"):
            presto_cli = cmd
        else:
            res = shell(cmd, 300)
            assert res.returncode == 0, (cmd, res.stdout, res.stderr)
            if "hadoop fs -ls" in cmd:
                assert re.search(r"/tmp/game_events/batch-\d+\.parquet", res.stdout)
    assert presto_cli and len(lines) >= 10
