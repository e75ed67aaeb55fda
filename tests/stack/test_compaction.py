"""The compaction job on the real stack: small batch files merged by one HDFS concat
while Presto is queried without pause and the stream keeps landing new batches, in
hive_events and hive_bad_events, once or every period (--every)."""
import json
import re
import subprocess
import threading
from collections import Counter

import pytest
import requests

from game_events import settings, topic
from game_events.storage import checkpoint
from game_events.storage.parquet_footer import empty_file, field, footer_of, rows_of
from game_events.storage.webhdfs import WebHdfs
from tests.support.children import stop
from tests.support.commands import BIN, PYTHON, ROOT, run
from tests.support.engines import hdfs_names, presto_rows
from tests.support.figures import record_figure
from tests.support.waits import wait_for, wait_for_commits

API = settings.API_URL
PATH = settings.EVENTS_PATH
pytestmark = pytest.mark.timeout(900, func_only=True)


def send(tag: str, n: int, start: int = 0) -> None:
    events = [{"event_type": "get_paid", "user": f"u{i}-{tag}", "amount": i} for i in range(start, start + n)]
    assert requests.post(f"{API}/events", json=events, timeout=30).json()["stored"] == n


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
        assert requests.post(f"{API}/events", json=guilds, timeout=30).json()["stored"] == 5
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


BATCH_NAME = re.compile(r"batch-(\d+)\.parquet$")
# The line compact_events.py prints for each table at each run.
RUN_LINE = re.compile(r"^(\S+): \d+ files -> \d+ \((\d+) merged into \d+, \d+ rows\)$", re.M)


def merges(out: str, path: str) -> list[int]:
    """Files merged in `path` at each run that `out` reports, in order."""
    return [int(m[2]) for m in RUN_LINE.finditer(out) if m[1] == path]


def answer(sql: str) -> list[tuple] | None:
    """Presto's rows, or None when the query listed a file that a merge then swapped out
    (file not found: a retry sees the merged file; a wrong count is never excused)."""
    try:
        return presto_rows(sql)
    except Exception as e:
        if "not exist" in str(e) or "not found" in str(e).lower() or "FileNotFound" in str(e):
            return None
        raise


def committed(names: set[str]) -> bool:
    """True once the stream's checkpoint records every batch-<id> file of names as
    committed: the compaction merges only those, and a file is visible a moment before."""
    ids = [int(m[1]) for m in map(BATCH_NAME.search, names) if m]
    last = checkpoint.last_committed_batch()
    return last is not None and last >= max(ids, default=-1)


def test_compaction_merges_the_bad_events_files_too(pipeline, tag):
    sql = (f'select raw_event, reason, kafka_partition, kafka_offset, timestamp, "$path" from hive_bad_events '
           f"where raw_event like '%{tag}%'")
    # One record per batch file (a single record cannot straddle two of the stream's batches),
    # each with the reason the stream gives it (as in test_pipeline's GARBAGE).
    bad = [(f'{{"event_type": "summon_dragon", "user": "b0-{tag}"}}', "unknown event_type: summon_dragon"),
           (f"not json b1-{tag}", "not a JSON object"),
           (f'{{"event_type": "get_paid", "user": "b2-{tag}", "amount": "lots"}}', "invalid field amount")]
    sent = []  # (raw_event, reason, kafka offset)
    for raw, reason in bad:  # three batch files: each write waits until the one before has landed
        (offset,) = topic.produce(settings.TOPIC, [raw.encode()], key=f"compaction-{tag}".encode())
        sent.append((raw, reason, offset))
        rows, _ = wait_for(lambda: (lambda r: r if len(r) == len(sent) else None)(presto_rows(sql)), 90,
                           what=f"bad record {len(sent)}")
    assert sorted((r[0], r[1], r[3]) for r in rows) == sorted(sent)
    before = Counter(r[:5] for r in rows)
    old_files = {re.sub(r".*/", "", r[5]) for r in rows}
    assert len(old_files) == 3 and all(BATCH_NAME.match(f) for f in old_files), old_files
    wait_for(lambda: committed(old_files), 60, what=f"the stream to commit {sorted(old_files)}")

    out = run(PYTHON, ROOT / "compact_events.py", "--older-than", "0s", "--no-rewrite").stdout
    bad_runs = merges(out, settings.BAD_EVENTS_PATH)
    assert len(bad_runs) == 1 and bad_runs[0] >= 3, out
    rows = presto_rows(sql)
    assert Counter(r[:5] for r in rows) == before, "the same bad records, each once"
    merged = {re.sub(r".*/", "", r[5]) for r in rows}
    assert len(merged) == 1 and next(iter(merged)).startswith("compacted-"), merged
    after = hdfs_names(settings.BAD_EVENTS_PATH)
    assert merged <= after and not old_files & after, "the three batch files were merged away"


def test_every_keeps_merging_each_period_while_the_stream_lands(pipeline, tag, tmp_path):
    sql = f"select count(*), sum(amount) from hive_events where user like '%-{tag}'"
    paths = f'select distinct "$path" from hive_events where user like \'%-{tag}\''
    log = tmp_path / "compact.log"
    sent = 0

    def land(n: int) -> None:
        """n more events in one batch file, landed and committed."""
        nonlocal sent
        send(tag, n, start=sent)
        sent += n
        wait_for(lambda: answer(sql) == [truth(sent)], 90, what=f"{sent} events")
        wait_for(lambda: (names := answer(paths)) is not None and committed({p for (p,) in names}), 60,
                 what="the stream's commit of the batch")

    def merged_file(runs: int, other_than: str | None = None):
        """The one compacted file that holds all the events sent, once the job has merged
        in `runs` runs; None before."""
        assert proc.poll() is None, f"compact_events.py --every exited {proc.returncode}:\n{log.read_text()}"
        rows = answer(paths)
        if rows is None or len(rows) != 1 or answer(sql) != [truth(sent)]:
            return None
        name = re.sub(r".*/", "", rows[0][0])
        done = sum(1 for m in merges(log.read_text(), PATH) if m)
        return name if name.startswith("compacted-") and name != other_than and done >= runs else None

    with open(log, "w") as out:
        proc = subprocess.Popen([PYTHON, str(ROOT / "compact_events.py"), "--older-than", "0s", "--every", "5s",
                                 "--no-rewrite"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            land(10)
            land(10)  # two files of the test, at least, for one period to merge
            first, _ = wait_for(lambda: merged_file(1), 60, what="a period that merges the two batch files")
            land(10)  # a later period merges it with the merged file
            second, _ = wait_for(lambda: merged_file(2, other_than=first), 60,
                                 what=f"a later period that merges {first} and the new batch file")
            assert proc.poll() is None, log.read_text()
        finally:
            stop(proc)
    # second holds part 3, which landed after first was merged: two periods merged.
    assert presto_rows(sql) == [truth(30)]
    assert first not in hdfs_names(PATH), f"{first} was merged into {second}"
