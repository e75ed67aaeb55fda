"""What every benchmark needs: bringing the pipeline up, ApacheBench, CPU time of a process
tree, counting a run's records in Kafka, Spark jobs, and where results go (profiles are in
bench/profiling.py). Endpoints and paths come from game_events.settings."""
from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from game_events import settings, topic
from stack.processes import process_tree

ROOT = settings.ROOT
API = settings.API_URL
PY = str(settings.VENV / "bin" / "python")
# Results of the last run, one JSON file per benchmark; bench/report.py reads them.
OUT = Path(os.environ.get("BENCH_OUT", settings.DATA / "bench"))


def launcher(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "stack", *args], cwd=ROOT, check=True, timeout=1800)


def pipeline() -> None:
    """The engines, the topic, the tables, the API and the stream, as the launcher brings
    them up for every entry point (idempotent)."""
    launcher("up", "pipeline")


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


def ab(url: str, n: int, c: int, body: Path | None = None, headers: tuple[str, ...] = (),
       keep_alive: bool = False) -> dict:
    """One ApacheBench run: requests/s, latency percentiles (ms) and how many answered 2xx."""
    argv = ["ab", "-q", "-n", str(n), "-c", str(c), "-s", "30"] + (["-k"] if keep_alive else [])
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


def load() -> float:
    """The 1-minute load average, recorded with each run: a busy machine explains a slow one."""
    return round(os.getloadavg()[0], 2)


def spread(values: list[float]) -> dict:
    """The median of a figure over the rounds of an ABAB benchmark, with its range."""
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": values}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the API's workers, a JVM)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def count_on_topic(name: str, start: dict[int, int], marker: str) -> int:
    """Records after the offsets `start` (topic.end_offsets before the run) to the end of the
    topic whose value contains marker; a tombstone has no value."""
    m = marker.encode()
    return sum(value is not None and m in value for _, _, value in topic.read(name, start))


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
    """The pid of a service the launcher started, from its pid file (settings.RUN)."""
    try:
        pid = int((settings.RUN / f"{name}.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        raise RuntimeError(f"{name} is not running; start it with: python -m stack up {name}") from None
    return pid


def kafka_backlog(spark, min_partitions: int | None = settings.STREAM_MIN_PARTITIONS):
    """The whole of EVENTS_TOPIC, from its first offset, in one batch, as a streaming
    DataFrame; min_partitions=None reads with one task per Kafka partition."""
    from game_events.stream.job import read_events

    return read_events(spark, max_offsets_per_trigger=None, min_partitions=min_partitions)


def drain_to_files(session, build, out: str, checkpoint: str) -> None:
    """Drains build(session), a streaming DataFrame, with Spark's parquet file sink until the
    backlog is done, then prints the job's one JSON line of results (bench/drain.py reads
    it). The clock starts, as drain_ours.py's does, once the session is up: defining the
    Kafka source costs a cold JVM most of a second, and every job pays it."""
    t0 = time.monotonic()
    df = build(session)
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


def spark_submit(script: Path | str, *args, env: dict | None = None, options: list[str] = ()) -> dict:
    """Runs a benchmark job under bin/spark-submit; it prints one JSON line of results."""
    res = subprocess.run([str(ROOT / "bin" / "spark-submit"), *options, str(script), *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=7200)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{script} exited {res.returncode}:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return json.loads(lines[-1])
