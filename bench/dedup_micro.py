"""Micro-benchmark of the stream's deduplication (game_events/stream/dedup.py, java/KeyLog.java)
on local Spark, without Kafka: synthetic Kafka records (values in the API's form, ~250 bytes;
unless CLEAN=1, 5% retries of an earlier record, 0.5% the same id with other content and 1%
with no id), read as a stream from parquet files with availableNow in one batch and written
as Parquet, with and without the deduplication (best of ROUNDS each, in turn), as the landing
does: gather in the write, decide, write the batch again without what was dropped. Prints one
JSON object: wall and JVM CPU seconds per variant and the verdicts (checked against the
generator).

    STREAM_JAR=<the stream's jar> PYTHONPATH=. .venv/bin/python -m bench.dedup_micro [records] [rounds]
    STATE_IDS=10000000 SPARK_DRIVER_MEMORY=2g ... -m bench.dedup_micro      # the driver's memory with that many ids

docs/dedup-design.md holds the figures and the transformWithState design it was measured
against. It writes only under a new directory in /tmp, removed at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from game_events import settings
from game_events.stream import dedup

CLEAN = bool(os.environ.get("CLEAN"))  # no retries and no conflicts: every record new
SCHEMA = "value binary, timestamp timestamp, partition int, offset long"


def records(session, n: int):
    """Record i is a retry of record i-5 when i % 20 == 7, the id of record i-3 with other content
    when i % 200 == 13, and has no id when i % 100 == 51 (the three never meet, nor their sources).
    Kafka's timestamps are 1 ms apart."""
    i = F.col("id")
    src = i if CLEAN else (F.when(i % 20 == 7, i - 5).when(i % 200 == 13, i - 3).otherwise(i))
    h = F.md5(src.cast("string"))
    eid = F.concat_ws("-", h.substr(1, 8), h.substr(9, 4), h.substr(13, 4), h.substr(17, 4), h.substr(21, 12))
    body = F.concat(F.lit('"Accept":"*/*","Host":"user1.comcast.com","User-Agent":"Mozilla/5.0 (X11; Linux x86_64; '
                          'rv:128.0) Gecko/20100101 Firefox/128.0","event_type":"purchase_sword","user":"user'),
                    (src % 10_000).cast("string"),
                    F.when(i % 200 == 13, F.lit('","sword_type":"broadsword"}')).otherwise(F.lit('","sword_type":"katana"}')))
    value = F.when(i % 100 == 51, F.concat(F.lit("{"), body)).otherwise(
        F.concat(F.lit('{"event_id":"'), eid, F.lit('",'), body))
    return session.range(n).select(value.cast("binary").alias("value"),
                                   F.timestamp_millis(F.lit(1_767_225_600_000) + i).alias("timestamp"),
                                   F.lit(0).alias("partition"), i.alias("offset"))


def expected(n: int) -> dict:
    """The verdicts of the records that carry an id (those without one are gathered by no key)."""
    no_id = sum(1 for i in range(n) if i % 100 == 51)
    dups = 0 if CLEAN else sum(1 for i in range(n) if i % 20 == 7)
    conflicts = 0 if CLEAN else sum(1 for i in range(n) if i % 200 == 13)
    return {"land": n - no_id - dups - conflicts, "dup": dups, "conflict": conflicts}


def cpu_seconds(session) -> float:
    """The Spark JVM's CPU time (user + system): on a shared machine it says what wall time cannot."""
    pid = session.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def new_session(tmp: Path, name: str):
    session = (SparkSession.builder.master("local[2]").appName(name)
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
               .config("spark.local.dir", str(tmp / "local"))
               .config("spark.driver.memory", settings.SPARK_DRIVER_MEMORY)
               .getOrCreate())
    session.sparkContext.setLogLevel("WARN")
    return session


def run(session, source: Path, out: Path, with_dedup: bool) -> tuple[float, float, dict | None]:
    """One drain of the source; returns wall seconds, JVM CPU seconds and the verdicts."""
    d = dedup.Deduplicator(session, 86_400_000, 900_000, f"file://{out}/ids") if with_dedup else None
    counts = {}

    def land(batch, batch_id):
        target = str(out / f"events-{batch_id}")
        if d is None:
            batch.write.parquet(target)
            return
        d.gather(batch, batch_id).write.parquet(target)
        v = d.decide(batch_id)
        if v.dropped is not None:  # the batch again, without its duplicates and conflicts
            v.kept(batch).write.mode("overwrite").parquet(target)
        counts.update(v.counts)

    t0, c0 = time.monotonic(), cpu_seconds(session)
    query = (session.readStream.schema(SCHEMA).parquet(str(source)).writeStream.foreachBatch(land)
             .option("checkpointLocation", str(out / "checkpoint")).trigger(availableNow=True).start())
    query.awaitTermination()
    if query.exception():
        raise RuntimeError(query.exception())
    return time.monotonic() - t0, cpu_seconds(session) - c0, counts if with_dedup else None


def main(n: int = 1_000_000, rounds: int = 2):
    tmp = Path(tempfile.mkdtemp(prefix="dedup-micro-"))
    session = new_session(tmp, "dedup_micro")
    try:
        source = tmp / "source"
        records(session, n).repartition(2).write.parquet(str(source))
        times, cpu = {"write": [], "dedup_write": []}, {"write": [], "dedup_write": []}
        for r in range(rounds):
            for variant in times:
                seconds, cpu_s, verdicts = run(session, source, tmp / f"{variant}-{r}", variant == "dedup_write")
                times[variant].append(round(seconds, 2))
                cpu[variant].append(round(cpu_s, 1))
                if verdicts is not None:
                    assert verdicts == expected(n), (verdicts, expected(n))
        best = {k: min(v) for k, v in times.items()}
        print(json.dumps({"records": n, "rounds": rounds, "clean": CLEAN, "seconds": times, "cpu_seconds": cpu,
                          "best": best, "added_s": round(best["dedup_write"] - best["write"], 2),
                          "verdicts": expected(n)}, indent=1))
    finally:
        session.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def state_size(n: int, files: int = 10) -> dict:
    """The driver's memory with n ids in the window: n new records (CLEAN=1) in `files` batches
    through the gather and KeyLog.Table (noop write; a one-day window, as the records are 1 ms
    apart), then the table's size, the JVM's heap in use after a GC, its RSS after each batch,
    the ids files' size and the time to read them back."""
    tmp = Path(tempfile.mkdtemp(prefix="dedup-state-"))
    session = new_session(tmp, "dedup_state")
    try:
        source = tmp / "source"
        records(session, n).repartition(files).write.parquet(str(source))
        d = dedup.Deduplicator(session, 86_400_000, 900_000, f"file://{tmp}/ids")
        jvm = session.sparkContext._jvm
        pid = jvm.java.lang.ProcessHandle.current().pid()
        rss = []

        def land(batch, batch_id):
            d.gather(batch, batch_id).write.format("noop").mode("overwrite").save()
            d.decide(batch_id)
            rss.append(int(next(ln.split()[1] for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                                if ln.startswith("VmRSS:"))) // 1024)

        t0 = time.monotonic()
        query = (session.readStream.schema(SCHEMA).option("maxFilesPerTrigger", 1).parquet(str(source))
                 .writeStream.foreachBatch(land).option("checkpointLocation", str(tmp / "cp"))
                 .trigger(availableNow=True).start())
        query.awaitTermination()
        seconds = time.monotonic() - t0
        runtime = jvm.java.lang.Runtime.getRuntime()
        jvm.java.lang.System.gc()
        heap = (runtime.totalMemory() - runtime.freeMemory()) // 2**20
        ids_bytes = sum(p.stat().st_size for p in (tmp / "ids").glob("batch-*.ids"))
        t1 = time.monotonic()
        held = d.table.size()
        d.recover()  # as a restarted stream would: the same table, read back from the files
        return {"ids": held, "batches": len(rss), "seconds": round(seconds, 1),
                "rss_mib_after_each_batch": rss, "heap_used_mib_after_gc": heap,
                "driver_memory": settings.SPARK_DRIVER_MEMORY, "ids_files_mib": ids_bytes // 2**20,
                "recover_s": round(time.monotonic() - t1, 1), "recovered_ids": d.table.size()}
    finally:
        session.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if os.environ.get("STATE_IDS"):
        print(json.dumps(state_size(int(os.environ["STATE_IDS"])), indent=1))
    else:
        main(*(int(a) for a in sys.argv[1:]))
