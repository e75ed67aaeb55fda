"""Where the time goes while a benchmark runs: py-spy samples of a Python process tree
(the API) and Java Flight Recorder samples of a Spark driver, each summarised for
BENCHMARKS.md. Recordings go beside the results (common.OUT)."""
from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from bench import common
from game_events import settings
from game_events.spark import spark_conf


class Profile:
    """py-spy (a pinned bench dependency) sampling a process tree while a block runs; the
    summary is the functions where most samples were taken, for BENCHMARKS.md."""

    def __init__(self, pid: int, name: str):
        self.pid, self.path = pid, common.OUT / f"{name}.collapsed"
        self.proc = None

    def __enter__(self):
        exe = settings.VENV / "bin" / "py-spy"
        if exe.exists():
            common.OUT.mkdir(parents=True, exist_ok=True)
            # --gil: only the thread holding the GIL, so the profile is Python's CPU time,
            # not threads waiting for Kafka's acknowledgement.
            self.proc = subprocess.Popen([str(exe), "record", "--pid", str(self.pid), "--subprocesses", "--rate", "100",
                                          "--gil", "--format", "raw", "--output", str(self.path), "--nonblocking"],
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
    # Appended to the deployment's own options, which a --conf of the same key replaces.
    own = spark_conf().get("spark.driver.extraJavaOptions", "")
    return ["--conf", f"spark.driver.extraJavaOptions={own} -XX:StartFlightRecording=filename={path},settings=profile"
            .strip()]


def jfr_summary(path: Path, top: int = 8) -> dict | None:
    """{"samples": n, "buckets": [[what, %]...], "self": [[method, %]...]} from a JFR
    recording's execution samples, or None without a recording or the jfr tool."""
    exe = shutil.which("jfr") or str(settings.JAVA_HOME / "bin" / "jfr")
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
