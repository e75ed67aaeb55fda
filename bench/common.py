"""What every benchmark needs: the stack's endpoints, ApacheBench, CPU time of a process
tree, counting a run's records in Kafka, and where results go."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "stack"))
import stackctl  # noqa: E402

from game_events import config  # noqa: E402

API = f"http://127.0.0.1:{stackctl.SETTINGS['API_PORT']}"
PY = str(stackctl.VENV / "bin" / "python")
# Results of the last run, one JSON file per benchmark; bench/report.py reads them.
OUT = Path(os.environ.get("BENCH_OUT", stackctl.DATA / "bench"))


def tag() -> str:
    return uuid.uuid4().hex[:8]


def commit() -> str:
    """The checked-out commit, marked when the work tree has changes: what a result measured."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def save(name: str, result: dict) -> dict:
    result = {**result, "measured": {"at": time.strftime("%Y-%m-%d %H:%M"), "commit": commit()}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({name: result}), flush=True)
    return result


def ab(url: str, n: int, c: int, body: Path | None = None, headers: tuple[str, ...] = ()) -> dict:
    """One ApacheBench run: requests/s, latency percentiles (ms) and how many answered 2xx."""
    argv = ["ab", "-q", "-n", str(n), "-c", str(c), "-s", "30"]
    for h in headers:
        argv += ["-H", h]
    if body:
        argv += ["-p", str(body), "-T", "application/json"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=3600).stdout

    def num(label: str, default=None):
        m = re.search(rf"^{re.escape(label)}:\s+([\d.]+)", out, re.M)
        if m is None and default is None:
            raise RuntimeError(f"ab printed no {label!r}:\n{out[-2000:]}")
        return float(m[1]) if m else default

    pct = dict((int(p), float(ms)) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
    done = int(num("Complete requests"))
    bad = int(num("Failed requests", 0)) + int(num("Non-2xx responses", 0))
    return {"requests": n, "concurrency": c, "requests_per_s": num("Requests per second"),
            "p50_ms": pct.get(50), "p99_ms": pct.get(99), "ok_2xx": done - bad, "failed": bad}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn's worker, a JVM)."""
    tick, total, todo = os.sysconf("SC_CLK_TCK"), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return total / tick


def end_offset(topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP)
    tp = TopicPartition(topic, 0)
    end = c.end_offsets([tp]).get(tp, 0)
    c.close()
    return end


def count_on_topic(topic: str, start: int, marker: str) -> int:
    """Records from offset `start` to the end of the topic whose value contains marker."""
    from kafka import KafkaConsumer, TopicPartition

    end = end_offset(topic)
    if end <= start:
        return 0
    c = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP, enable_auto_commit=False,
                      consumer_timeout_ms=10000, max_partition_fetch_bytes=8 * 1024 * 1024)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, start)
    n, m = 0, marker.encode()
    for r in c:
        n += r.value is not None and m in r.value  # a tombstone has no value
        if r.offset >= end - 1:
            break
    c.close()
    return n


class Profile:
    """py-spy (a pinned bench dependency) sampling a process tree while a block runs; the
    summary is the functions where most samples were taken, for BENCHMARKS.md."""

    def __init__(self, pid: int, name: str):
        self.pid, self.path = pid, OUT / f"{name}.collapsed"
        self.proc = None

    def __enter__(self):
        exe = stackctl.VENV / "bin" / "py-spy"
        if exe.exists():
            OUT.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen([str(exe), "record", "--pid", str(self.pid), "--subprocesses", "--rate", "100",
                                          "--format", "raw", "--output", str(self.path), "--nonblocking"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
            self.proc.wait(60)

    def summary(self, top: int = 8) -> dict | None:
        """{"samples": n, "self": [[function, % of samples]...], "total": [...]} or None."""
        if not self.path.exists():
            return None
        own, incl, n = {}, {}, 0
        for line in self.path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            # "function (path:line)" -> "function (path)"; process and thread frames dropped
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")
                      if not f.startswith(("process ", "thread "))]
            if not frames or not count.isdigit():
                continue
            c = int(count)
            n += c
            own[frames[-1]] = own.get(frames[-1], 0) + c
            for f in set(frames):
                if re.search(r"\((game_events|kafka)/", f):  # where our code and the producer spend it
                    incl[f] = incl.get(f, 0) + c

        def best(d):
            return [[f, round(100 * c / n, 1)] for f, c in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

        return {"samples": n, "self": best(own), "total": best(incl)} if n else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def service_pid(name: str) -> int:
    pid = stackctl.running_pid(stackctl.BY_NAME[name])
    if pid is None:
        raise RuntimeError(f"{name} is not running; start it with: make {name}")
    return pid


def kafka_backlog(spark):
    """The whole of EVENTS_TOPIC, from its first offset, as a streaming DataFrame."""
    return (spark.readStream.format("kafka").option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
            .option("subscribe", config.TOPIC).option("startingOffsets", "earliest").load())


def drain_to_files(df, out: str, checkpoint: str) -> None:
    """Drains df with Spark's parquet file sink until the backlog is done, then prints the
    job's one JSON line of results (bench/drain.py reads it)."""
    t0 = time.monotonic()
    query = (df.writeStream.format("parquet").option("checkpointLocation", checkpoint).option("path", out)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    seconds = time.monotonic() - t0
    print(json.dumps({"seconds": round(seconds, 2), "rows_landed": df.sparkSession.read.parquet(out).count(),
                      "batches": batch_metrics(query)}))


def batch_metrics(query) -> list[dict]:
    """Spark's own account of each micro-batch of a finished query (its StreamingQueryProgress):
    rows and where the milliseconds went (addBatch is reading, parsing and writing)."""
    return [{"batch": p["batchId"], "rows": p["numInputRows"], "ms": p["durationMs"]}
            for p in query.recentProgress if p["numInputRows"]]


# Where a JVM's time goes, by the first frame (from the leaf) that matches: what the
# drain's profile is summarised into.
JVM_BUCKETS = (
    ("Kafka consumer", ("org.apache.kafka.", "org.apache.spark.sql.kafka010.")),
    ("JSON parsing (Jackson, from_json)", ("com.fasterxml.jackson.", "org.apache.spark.sql.catalyst.json.")),
    ("regular expressions", ("java.util.regex.",)),
    ("Parquet writing", ("org.apache.parquet.", "shaded.parquet.", "org.apache.spark.sql.execution.datasources.")),
    ("in-memory cache of the batch", ("org.apache.spark.sql.execution.columnar.",)),
    ("Python UDF (waiting on, or feeding, the Python worker)", ("org.apache.spark.api.python.",
                                                                "org.apache.spark.sql.execution.python.",
                                                                "net.razorvine.")),
    ("class loading (start-up)", ("java.util.zip.", "java.util.jar.", "jdk.internal.loader.", "java.lang.ClassLoader")),
    ("generated code (expressions, projections)", ("org.apache.spark.sql.catalyst.expressions.",
                                                   "org.apache.spark.unsafe.")),
)


def jfr_options(path: Path) -> list[str]:
    """spark-submit options that record the driver JVM (where local[N] runs every task)
    with Java Flight Recorder, which ships with the JDK."""
    return ["--conf", f"spark.driver.extraJavaOptions=-XX:StartFlightRecording=filename={path},settings=profile"]


def jfr_summary(path: Path, top: int = 8) -> dict | None:
    """{"samples": n, "buckets": [[what, %]...], "self": [[method, %]...]} from a JFR
    recording's execution samples, or None without a recording or the jfr tool."""
    import collections
    import shutil

    exe = shutil.which("jfr") or str(Path(os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")) /
                                     "bin" / "jfr")
    if not path.exists() or not Path(exe).exists():
        return None
    out = subprocess.run([exe, "print", "--json", "--events", "jdk.ExecutionSample", str(path)],
                         capture_output=True, text=True, timeout=600).stdout
    buckets, own, n = collections.Counter(), collections.Counter(), 0
    for event in json.loads(out)["recording"]["events"]:
        frames = [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"]
                  for f in event["values"]["stackTrace"]["frames"]]
        if not frames:
            continue
        n += 1
        own[re.sub(r"\$\$Lambda.*", "", re.sub(r"Stage\d+", "Stage", frames[0]))] += 1
        buckets[next((name for f in frames for name, prefixes in JVM_BUCKETS if f.startswith(prefixes)), "other")] += 1

    def pct(counter):
        return [[k, round(100 * c / n, 1)] for k, c in counter.most_common(top)]

    return {"samples": n, "buckets": pct(buckets), "self": pct(own)} if n else None


def spark_submit(script: Path | str, *args, env: dict | None = None, options: list[str] = ()) -> dict:
    """Runs a benchmark job under bin/spark-submit; it prints one JSON line of results."""
    res = subprocess.run([str(ROOT / "bin" / "spark-submit"), *options, str(script), *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=7200)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{script} exited {res.returncode}:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return json.loads(lines[-1])
