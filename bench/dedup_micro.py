"""Micro-benchmark of the stream's deduplication (game_events/stream/dedup.py, java/Dedup.java) on
local Spark, without Kafka or HDFS: 1M synthetic Kafka records (values in the API's form, ~250
bytes, 5% retries of an earlier record, 0.5% the same id with other content, 1% with no id), read
as a stream from parquet files with availableNow in one batch, landed through foreachBatch to a
noop write, without Dedup, with it, and with it minus RocksDB's row count (best of ROUNDS each,
in turn). Prints one JSON object: wall and JVM CPU seconds per variant, the verdicts counted
(checked against the generator), and the state after the last Dedup run (rows, RocksDB memory and
SST size, its gets and puts).

    STREAM_JAR=<the jar with Dedup> PYTHONPATH=. .venv/bin/python -m bench.dedup_micro [records] [rounds]

It writes only under a new directory in /tmp, removed at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from game_events.stream import dedup_tws as dedup

CLEAN = bool(os.environ.get("CLEAN"))  # no retries and no conflicts: every record new
SCHEMA = "value binary, timestamp timestamp, partition int, offset long"


def records(session, n: int):
    """Record i is a retry of record i-5 when i % 20 == 7, the id of record i-3 with other content
    when i % 200 == 13, and has no id when i % 100 == 51 (the three never meet, nor their sources).
    Kafka's timestamps are 1 ms apart: all within the default one-hour window."""
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
    dups = 0 if CLEAN else sum(1 for i in range(n) if i % 20 == 7)
    conflicts = 0 if CLEAN else sum(1 for i in range(n) if i % 200 == 13)
    return {"land": n - dups - conflicts, "dup": dups, "conflict": conflicts}


def cpu_seconds(session) -> float:
    """The Spark JVM's CPU time (user + system): on a shared machine it says what wall time cannot."""
    pid = session.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(session, source: Path, checkpoint: Path, with_dedup: bool, conf: dict):
    seen = Observation()
    counts = {}
    if with_dedup in ("keylog", "keylog_write"):
        from game_events.stream import parsers
        key_log = dedup.java_class(session, name="game_events.stream.KeyLog")
        tables = [parsers.jvm_class(session, "game_events.stream.KeyLog$Table")(1 << 21, 3_600_000)]
    for key, value in conf.items():
        session.conf.set(key, value)

    def land(batch, batch_id):
        if with_dedup == "write":
            batch.write.parquet(str(checkpoint) + "-out/staging")
            return
        if with_dedup in ("keylog", "keylog_write"):
            log = key_log.register(session.sparkContext._jsc, f"keylog-{batch_id}")
            gather = log.gather(F.substring("value", 1, 50)._jc, F.xxhash64("value")._jc, F.unix_millis("timestamp")._jc,
                                F.col("partition")._jc, F.col("offset")._jc)
            if with_dedup == "keylog":
                batch.where(Column(gather)).write.format("noop").mode("overwrite").save()
            else:
                batch.where(Column(gather)).write.parquet(str(checkpoint) + "-out/staging")
            logged = log.value()
            verdicts = tables[0].decide(logged)
            if with_dedup == "keylog_write":
                tables[0].writeAdded(str(checkpoint) + "-ids")
                if any(verdicts):
                    dropped = DataFrame(parsers.jvm_class(session, "game_events.stream.KeyLog$Table").droppedFrame(
                        session._jsparkSession, logged, verdicts), session)
                    staged = session.read.parquet(str(checkpoint) + "-out/staging")
                    staged.join(F.broadcast(dropped), ["partition", "offset"], "left_anti").write.parquet(
                        str(checkpoint) + "-out/staging2")
            counts.update({v: verdicts.count(i) for i, v in enumerate(dedup.VERDICTS)})
            return
        if with_dedup:  # the verdicts counted on the action that runs anyway, as land_batch will
            batch = batch.observe(seen, *(F.count_if(F.col("verdict") == v).alias(v) for v in dedup.VERDICTS))
        batch.write.format("noop").mode("overwrite").save()

    stream = session.readStream.schema(SCHEMA).parquet(str(source))
    if with_dedup is True:
        stream = dedup.deduplicate(session, stream)
    t0, c0 = time.monotonic(), cpu_seconds(session)
    query = (stream.writeStream.foreachBatch(land).option("checkpointLocation", str(checkpoint))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    seconds, cpu = time.monotonic() - t0, cpu_seconds(session) - c0
    if query.exception():
        raise RuntimeError(query.exception())
    for key in conf:
        session.conf.unset(key)
    if with_dedup in ("keylog", "keylog_write", "write"):
        return seconds, cpu, query, counts
    return seconds, cpu, query, (seen.get if with_dedup else None)


# The variants, each with the settings it adds to STATE_CONF and DRAIN_CONF.
VARIANTS = {
    "without": (False, {}),
    "with": (True, {}),
    "keylog": ("keylog", {}),
    "write": ("write", {}),
    "keylog_write": ("keylog_write", {}),
    # The design's first fallback: no row count kept, one RocksDB get fewer per put.
    "with_untracked_rows": (True, {"spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows": "false"}),
}


def main(n: int = 1_000_000, rounds: int = 2):
    tmp = Path(tempfile.mkdtemp(prefix="dedup-micro-"))
    session = (SparkSession.builder.master("local[2]").appName("dedup_micro")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")  # as the stream's
               .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
               .config("spark.local.dir", str(tmp / "local"))
               .config("spark.driver.memory", os.environ.get("DRIVER_MEMORY", "1g"))
               # The accumulator's class must load where task results are read, on the driver.
               .config("spark.driver.extraClassPath", os.environ.get("STREAM_JAR", ""))
               .getOrCreate())
    session.sparkContext.setLogLevel("WARN")
    for key, value in {**dedup.STATE_CONF, **dedup.DRAIN_CONF}.items():
        session.conf.set(key, value)
    try:
        source = tmp / "source"
        records(session, n).repartition(2).write.parquet(str(source))
        times = {v: [] for v in VARIANTS}
        cpu = {v: [] for v in VARIANTS}
        state, progress = {"customMetrics": {}}, {"durationMs": None}
        only = os.environ.get("VARIANTS", ",".join(VARIANTS)).split(",")
        times = {v: [] for v in only}
        cpu = {v: [] for v in only}
        for r in range(rounds):
            for variant, (with_dedup, conf) in VARIANTS.items():
                if variant not in only:
                    continue
                seconds, cpu_s, query, verdicts = run(session, source, tmp / f"cp-{variant}-{r}", with_dedup, conf)
                times[variant].append(round(seconds, 2))
                cpu[variant].append(round(cpu_s, 1))
                if variant in ("keylog", "keylog_write"):  # records without an id are gathered by no key: they land
                    no_id = sum(1 for i in range(n) if i % 100 == 51)
                    assert {**verdicts, "land": verdicts["land"] + no_id} == expected(n), (verdicts, expected(n))
                if variant == "with":
                    assert verdicts == expected(n), (verdicts, expected(n))
                    state, progress = query.lastProgress["stateOperators"][0], query.lastProgress
        best = {k: min(v) for k, v in times.items()}
        print(json.dumps({
            "records": n, "rounds": rounds, "seconds": times, "cpu_seconds": cpu, "best": best,
            "added_s": {v: round(best[v] - best[next(iter(best))], 2) for v in best}, "verdicts": verdicts,
            "state": {**{k: state.get(k) for k in ("numRowsTotal", "memoryUsedBytes", "allUpdatesTimeMs", "commitTimeMs")},
                      **{k: state["customMetrics"].get(k) for k in (
                          "rocksdbSstFileSize", "rocksdbGetCount", "rocksdbPutCount", "rocksdbGetLatency",
                          "rocksdbPutLatency", "rocksdbPinnedBlocksMemoryUsage")}},
            "last_batch_durationMs": progress["durationMs"],
        }, indent=1))
    finally:
        session.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def state_size(n: int, files: int = 10) -> dict:
    """The driver's memory with n ids in the window: n new records in `files` batches through
    the keylog gather and KeyLog.Table (noop write; a one-day window: the records are 1 ms apart), then the table's size, the JVM's heap in
    use after a GC, and its RSS."""
    tmp = Path(tempfile.mkdtemp(prefix="dedup-state-"))
    session = (SparkSession.builder.master("local[2]").appName("dedup_state")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
               .config("spark.local.dir", str(tmp / "local"))
               .config("spark.driver.memory", os.environ.get("DRIVER_MEMORY", "1g"))
               .config("spark.driver.extraClassPath", os.environ.get("STREAM_JAR", ""))
               .getOrCreate())
    session.sparkContext.setLogLevel("WARN")
    from game_events.stream import dedup as option_c
    try:
        source = tmp / "source"
        records(session, n).repartition(files).write.parquet(str(source))
        d = option_c.Deduplicator(session, 86_400_000, 900_000, f"file://{tmp}/ids")
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
        again = option_c.Deduplicator(session, 86_400_000, 900_000, f"file://{tmp}/ids")
        again.recover()
        return {"ids": d.table.size(), "batches": len(rss), "seconds": round(seconds, 1),
                "rss_mib_after_each_batch": rss, "heap_used_mib_after_gc": heap,
                "driver_memory": os.environ.get("DRIVER_MEMORY", "1g"), "ids_files_mib": ids_bytes // 2**20,
                "recover_s": round(time.monotonic() - t1, 1), "recovered_ids": again.table.size()}
    finally:
        session.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if os.environ.get("STATE_IDS"):
        print(json.dumps(state_size(int(os.environ["STATE_IDS"])), indent=1))
    else:
        main(*(int(a) for a in sys.argv[1:]))
