"""The compaction job on the real stack: small batch files merged by one HDFS concat
while Presto is queried without pause and the stream keeps landing new batches."""
import threading
import time

import pytest
import requests

import stackctl
from conftest import API, BIN, ROOT, presto_rows, record_figure, run, wait_for
from game_events import compaction, config

pytestmark = pytest.mark.stack


def send(tag: str, n: int, start: int = 0) -> None:
    events = [{"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i} for i in range(start, start + n)]
    assert requests.post(f"{API}/events", json=events, timeout=30).json() == {"stored": n}


def files(path: str) -> list[str]:
    return sorted(s["pathSuffix"] for s in compaction.Hdfs().list(path))


def truth(n: int) -> tuple[int, int]:
    return n, n * (n - 1) // 2


SPARK_COUNT = """
from game_events import config
spark = config.spark_session("test_compaction")
row = spark.sql("select count(*), sum(amount) from hive_events where user like '%-{tag}'").first()
print("spark:", row[0], int(row[1]))
"""


def test_compaction_never_miscounts_while_readers_and_the_stream_run(pipeline, tag, tmp_path):
    old, new = f"old{tag}", f"new{tag}"
    # Several batch files of old events: one request per 10 s trigger.
    for k in range(3):
        send(old, 100, start=100 * k)
        time.sleep(11)
    want = truth(300)
    sql = f"select count(*), sum(amount) from hive_events where user like '%-{old}'"
    wait_for(lambda: (lambda r: r if (r[0][0], int(r[0][1] or 0)) == want else None)(presto_rows(sql)), 90,
             what="the old events in hive_events")
    before = [f for f in files(config.EVENTS_PATH) if f.startswith("batch-")]
    assert len(before) >= 3

    polls, errors, stop = [], [], threading.Event()

    def poller():
        while not stop.is_set():
            try:
                # Presto's HTTP protocol: PyHive would wait a second between polls.
                (row,) = stackctl.presto_query(sql)
                polls.append((row[0], int(row[1])))
            except Exception as e:  # a query that straddles the swap may fail; it must not miscount
                errors.append(str(e)[:300])

    def sender():
        i = 0
        while not stop.is_set():
            send(new, 10, start=i)
            i += 10
            time.sleep(1)
        sent.append(i)

    sent: list[int] = []
    threads = [threading.Thread(target=poller), threading.Thread(target=sender)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        out = run(ROOT / ".venv" / "bin" / "python", ROOT / "compact_events.py", "--older-than", "0s").stdout
        time.sleep(12)  # the stream lands the new events beside the merged file
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    after = files(config.EVENTS_PATH)
    assert f"{config.EVENTS_PATH}: " in out and "merged into 1" in out, out
    assert not set(before) & set(after), "every selected batch file was merged away"
    assert [f for f in after if f.startswith("compacted-")]
    assert polls and set(polls) == {want}, f"a reader saw {set(polls) - {want}} (truth {want})"
    # A query that listed an input just before the swap and opened it just after fails
    # with file-not-found; it must never return a wrong count.
    assert all("not exist" in e or "not found" in e.lower() or "FileNotFound" in e for e in errors), errors
    record_figure("compaction: Presto polls during the run (right, failed, wrong)", (len(polls), len(errors), 0))
    wait_for(lambda: presto_rows(f"select count(*), sum(amount) from hive_events where user like '%-{new}'")
             == [(sent[0], sum(range(sent[0])))], 60, what="every new event, landed beside the merged file")

    # Spark reads the merged file too.
    script = tmp_path / "count.py"
    script.write_text(SPARK_COUNT.replace("{tag}", old))
    assert f"spark: {want[0]} {want[1]}" in run(BIN / "spark-submit", script).stdout


def test_a_crashed_run_is_cleaned_up_by_the_next(pipeline, tag):
    send(f"crash{tag}", 10)
    sql = f"select count(*) from hive_events where user like '%-crash{tag}'"
    wait_for(lambda: presto_rows(sql) == [(10,)], 90, what="the events")
    total = presto_rows("select count(*) from hive_events")
    hdfs, path = compaction.Hdfs(), config.EVENTS_PATH
    # What a crash leaves: a hidden footer, and an empty merged file renamed into the table.
    some = next(s for s in hdfs.list(path) if s["pathSuffix"].endswith(".parquet"))
    tail = hdfs.read(f"{path}/{some['pathSuffix']}", max(0, some["length"] - 65536), min(some["length"], 65536))
    hdfs.create(f"{path}/.compact-crashed.footer", b"half a footer")
    hdfs.create(f"{path}/compacted-20000101000000-0123456789ab.parquet",
                compaction.empty_file(compaction.footer_of(tail, some["length"])))
    assert presto_rows("select count(*) from hive_events") == total
    run(ROOT / ".venv" / "bin" / "python", ROOT / "compact_events.py", "--older-than", "0s")
    names = files(path)
    assert ".compact-crashed.footer" not in names and "compacted-20000101000000-0123456789ab.parquet" not in names
    assert presto_rows("select count(*) from hive_events") == total


def test_periods():
    assert [compaction.seconds(p) for p in ("90s", "15m", "1h", "2d", "30")] == [90, 900, 3600, 172800, 30]
    with pytest.raises(ValueError):
        compaction.seconds("soon")
