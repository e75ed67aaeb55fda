"""The compaction job on the real stack: small batch files merged by one HDFS concat
while Presto is queried without pause and the stream keeps landing new batches."""
import json
import re
import threading

import pytest
import requests

from game_events import settings
from game_events.storage.parquet_footer import empty_file, field, footer_of, rows_of
from game_events.storage.webhdfs import WebHdfs
from tests.support.commands import BIN, PYTHON, ROOT, run
from tests.support.engines import hdfs_names, presto_rows
from tests.support.figures import record_figure
from tests.support.waits import wait_for, wait_for_commits

API = settings.API_URL
PATH = settings.EVENTS_PATH
pytestmark = pytest.mark.timeout(900, func_only=True)


def send(tag: str, n: int, start: int = 0) -> None:
    events = [{"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i} for i in range(start, start + n)]
    assert requests.post(f"{API}/events", json=events, timeout=30).json() == {"stored": n}


def truth(n: int) -> tuple[int, int]:
    return n, n * (n - 1) // 2


def files_of(tag: str) -> set[str]:
    """The names of the table's files that hold this tag's events, as Presto reads them."""
    rows = presto_rows(f'select distinct "$path" from hive_events where user like \'%-{tag}\'')
    return {re.sub(r".*/", "", path) for (path,) in rows}


SPARK_COUNT = """
from game_events import spark as sessions
spark = sessions.session("test_compaction")
row = spark.sql("select count(*), sum(amount) from hive_events where user like '%-{tag}'").first()
print("spark:", row[0], int(row[1]))
"""


def test_compaction_never_miscounts_while_readers_and_the_stream_run(pipeline, tag, tmp_path):
    old, new = f"old{tag}", f"new{tag}"
    sql = f"select count(*), sum(amount) from hive_events where user like '%-{old}'"
    # Three batch files of old events: each send waits until the one before has landed.
    for k in range(3):
        send(old, 100, start=100 * k)
        wait_for(lambda: presto_rows(sql) == [truth(100 * (k + 1))], 90, what=f"old events, part {k + 1}")
    want = truth(300)
    old_files = files_of(old)
    assert len(old_files) == 3 and all(f.startswith("batch-") for f in old_files), old_files

    polls, errors, sent, stop = [], [], [], threading.Event()

    def poller():
        while not stop.is_set():
            try:
                (row,) = presto_rows(sql, timeout=60)
                polls.append((row[0], int(row[1])))
            except Exception as e:  # a query that straddles the swap may fail; it must not miscount
                errors.append(str(e)[:300])

    def sender():
        i = 0
        while not stop.wait(1):
            send(new, 10, start=i)
            i += 10
        sent.append(i)

    threads = [threading.Thread(target=poller), threading.Thread(target=sender)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(polls) >= 3, 60, interval=0.1, what="the reader's first answers")
        # The merge alone: the rewrite that follows it has a test of its own, below.
        out = run(PYTHON, ROOT / "compact_events.py", "--older-than", "0s", "--no-rewrite").stdout
        wait_for_commits(2, timeout=90)  # the stream lands new events beside the merged file
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    after = hdfs_names(PATH)
    assert f"{PATH}: " in out and "merged into 1" in out, out
    assert not old_files & after, "each of the three old batch files was merged away"
    merged = files_of(old)
    assert len(merged) == 1 and next(iter(merged)).startswith("compacted-") and merged <= after, merged
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


SPARK_ORDER = """
import json, sys
from game_events import spark as sessions
spark = sessions.session("test_rewrite")
rows = spark.read.parquet(sys.argv[1]).select("event_type", "timestamp").collect()
print("order:", json.dumps([list(r) for r in rows]))
"""


def test_the_rewrite_sorts_each_merged_file_and_never_miscounts(pipeline, tag, tmp_path):
    paid, joined = f"paid{tag}", f"join{tag}"
    sql = (f"select count(*), sum(amount), count_if(user like '%-{joined}') from hive_events "
           f"where user like '%-{paid}' or user like '%-{joined}'")
    for k in range(3):  # three batch files, each with both event types
        send(paid, 50, start=50 * k)
        guilds = [{"event_type": "join_a_guild", "user": f"u{k}{i}-{joined}", "name": "knights"} for i in range(5)]
        assert requests.post(f"{API}/events", json=guilds, timeout=30).json() == {"stored": 5}
        wait_for(lambda: presto_rows(sql) == [(50 * (k + 1) + 5 * (k + 1), sum(range(50 * (k + 1))), 5 * (k + 1))],
                 90, what=f"part {k + 1}")
    want = (165, sum(range(150)), 15)
    polls, errors, stop = [], [], threading.Event()

    def poller():
        while not stop.is_set():
            try:
                (row,) = presto_rows(sql, timeout=60)
                polls.append((row[0], int(row[1]), row[2]))
            except Exception as e:  # a query that straddles a swap may fail; it must not miscount
                errors.append(str(e)[:300])

    reader = threading.Thread(target=poller)
    reader.start()
    try:
        wait_for(lambda: len(polls) >= 3, 60, interval=0.1, what="the reader's first answers")
        out = run(PYTHON, ROOT / "compact_events.py", "--older-than", "0s").stdout
        wait_for(lambda: len(polls) >= len(errors) + 3, 60, interval=0.1, what="answers after the rewrite")
    finally:
        stop.set()
        reader.join(60)
    assert "rewritten" in out, out
    (merged,) = files_of(paid)
    assert files_of(joined) == {merged} and merged.startswith("compacted-"), merged
    assert polls and set(polls) == {want}, f"a reader saw {set(polls) - {want}} (truth {want})"
    record_figure("rewrite: Presto polls during the run (right, failed, wrong)", (len(polls), len(errors), 0))
    hdfs = WebHdfs()
    (size,) = [s["length"] for s in hdfs.list(PATH) if s["pathSuffix"] == merged]
    meta = footer_of(hdfs.read(f"{PATH}/{merged}", max(0, size - 65536), min(size, 65536)), size)
    # Spark reads the rewritten file in its order: by event type, then time.
    script = tmp_path / "order.py"
    script.write_text(SPARK_ORDER)
    line = next(ln for ln in run(BIN / "spark-submit", script, f"{PATH}/{merged}").stdout.splitlines()
                if ln.startswith("order: "))
    order = [tuple(r) for r in json.loads(line[len("order: "):])]
    assert len(order) == rows_of(meta) >= 165 and order == sorted(order), order[:20]
    # A row group per event type: the test's few rows of each type fit one.
    assert len(field(meta, 4)[2][1]) == len({event_type for event_type, _ in order}) >= 2
    # Run again: nothing is left to rewrite.
    assert "rewritten" not in run(PYTHON, ROOT / "compact_events.py", "--older-than", "0s").stdout


def test_a_crashed_run_is_cleaned_up_by_the_next(pipeline, tag):
    send(f"crash{tag}", 10)
    sql = f"select count(*) from hive_events where user like '%-crash{tag}'"
    wait_for(lambda: presto_rows(sql) == [(10,)], 90, what="the events")
    total = presto_rows("select count(*) from hive_events")
    hdfs = WebHdfs()
    # What a crash leaves: a hidden footer, and an empty merged file renamed into the table.
    some = next(s for s in hdfs.list(PATH) if s["pathSuffix"].endswith(".parquet"))
    tail = hdfs.read(f"{PATH}/{some['pathSuffix']}", max(0, some["length"] - 65536), min(some["length"], 65536))
    hdfs.create(f"{PATH}/.compact-crashed.footer", b"half a footer")
    hdfs.create(f"{PATH}/compacted-20000101000000-0123456789ab.parquet",
                empty_file(footer_of(tail, some["length"])))
    hdfs.create(f"{PATH}/.rewrite-0123456789ab/part-00000.parquet", b"half a rewrite")  # and a rewrite's folder
    assert presto_rows("select count(*) from hive_events") == total
    run(PYTHON, ROOT / "compact_events.py", "--older-than", "0s")
    names = hdfs_names(PATH)
    assert ".compact-crashed.footer" not in names and "compacted-20000101000000-0123456789ab.parquet" not in names
    assert ".rewrite-0123456789ab" not in names
    assert presto_rows("select count(*) from hive_events") == total
