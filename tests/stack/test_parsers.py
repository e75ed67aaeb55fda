"""The stream's parser seam on the real stack (game_events.stream.parsers): with
STREAM_PARSER=sql the stream lands every event with no jar of ours in its JVM, and with
java and a jar built for another Spark it says so in one line and lands them with sql. The
default run, java, has the jar: the check of the classpath can see it."""
from __future__ import annotations

import os
import zipfile

import pytest
import requests

from game_events import settings
from stack import processes
from tests.support.commands import launcher
from tests.support.engines import stream_progress
from tests.support.load import Load, audit
from tests.support.services import service
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(900, func_only=True)
SPARK_UI = f"http://127.0.0.1:{settings.SPARK_UI_PORT}/api/v1/applications"


def restart_stream(**env: str) -> int:
    """Restarts the stream with env added to the launcher's; returns where its log stood."""
    launcher("down", "stream")
    log = processes.logfile(service("stream"))
    start = log.stat().st_size if log.exists() else 0
    launcher("up", "stream", env={**os.environ, **env})
    return start


def log_since(start: int) -> str:
    return processes.logfile(service("stream")).read_bytes()[start:].decode(errors="replace")


def classpath() -> list[str]:
    """Every classpath entry of the stream's Spark application, jars it added included."""
    (app,) = requests.get(SPARK_UI, timeout=10).json()
    env = requests.get(f"{SPARK_UI}/{app['id']}/environment", timeout=10).json()
    return [path for path, _ in env["classpathEntries"]]


def ours(entries: list[str]) -> list[str]:
    return [e for e in entries if "game-events-stream" in e]


def lands_exactly_once(tag: str, what: str) -> None:
    with Load(tag, threads=2) as load:
        load.wait_answered(40)
    audit(tag, load.sent, what)


@pytest.fixture(scope="module")
def default_stream_after(pipeline):
    # Once for the module: each test restarts the stream with its own settings anyway, so
    # the default comes back after the last one (a stream start is ~20 s of CI's time).
    yield
    restart_stream()
    wait_for(lambda: stream_progress().get("parser") == "java", 60, what="the default stream's parser")


def test_the_default_stream_parses_with_its_jar(pipeline):
    # First: the tests below leave the stream on other settings until the module ends.
    assert stream_progress()["parser"] == "java"
    assert [e.rsplit("/", 1)[-1] for e in ours(classpath())] == [settings.STREAM_JAR.name]


def test_the_sql_parser_lands_every_event_with_no_jar(pipeline, tag, default_stream_after):
    start = restart_stream(STREAM_PARSER="sql")
    lands_exactly_once(tag, "stream on STREAM_PARSER=sql")
    assert stream_progress()["parser"] == "sql"
    assert ours(classpath()) == []
    assert "parsing the API's form with the sql parser" in log_since(start)
    # The deduplication lives in the jar: without it, it is off, and the log says so.
    assert stream_progress()["dedup"] == "off"
    assert "STREAM_DEDUP=on, but the stream runs without its jar" in log_since(start)
    assert "STREAM_PARSER=java, but" not in log_since(start)


def test_a_jar_for_another_spark_falls_back_in_one_line(pipeline, tag, tmp_path, default_stream_after):
    other = tmp_path / "game-events-stream-spark-3.5.1.jar"
    with zipfile.ZipFile(settings.STREAM_JAR) as src, zipfile.ZipFile(other, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "META-INF/MANIFEST.MF":
                data = data.replace(b"Spark-Version: ", b"Spark-Version: 3.5.1\r\nX-Was: ")
            dst.writestr(item, data)
    start = restart_stream(STREAM_JAR=str(other))
    lands_exactly_once(tag, "stream given a jar built for Spark 3.5.1")
    assert stream_progress()["parser"] == "sql" and stream_progress()["dedup"] == "off"
    assert ours(classpath()) == []
    fallback = [line for line in log_since(start).splitlines() if "STREAM_PARSER=java, but" in line]
    assert len(fallback) == 1 and "built for Spark 3.5.1" in fallback[0], fallback

