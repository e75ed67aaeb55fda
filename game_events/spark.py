"""Spark sessions for this deployment, and HDFS through a session's own Hadoop client.

Spark's settings come from settings.spark_conf(), the same that the stack renders as
spark-defaults.conf for spark-submit; a session started from plain Python gets them here.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from game_events import settings


def pyspark_jars() -> Path:
    """The jars pyspark ships: Spark's own, and the Hive ones the metastore runs on."""
    # Under spark-submit pyspark is imported from a zip inside SPARK_HOME, which has no jars.
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"]) / "jars"
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def compile_java(source: Path, classes: Path) -> None:
    """Compiles one Java source against pyspark's jars into the folder classes; a failure
    raises CalledProcessError with javac's stderr (bytes)."""
    subprocess.run([settings.JAVA_HOME / "bin" / "javac", "-nowarn", "--release", "17", "-cp",
                    f"{pyspark_jars()}/*", "-d", classes, source], check=True, capture_output=True)


def stream_jar() -> Path:
    """The stream's Java (settings.STREAM_JAVA) as a jar for spark.jars, built the first
    time it is asked for; a few seconds, once per edit."""
    jar = settings.STREAM_JAR
    if jar.exists():
        return jar
    jar.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and renamed into place: two processes starting at once each build whole.
    with tempfile.TemporaryDirectory(dir=jar.parent) as tmp:
        classes = Path(tmp) / "classes"
        try:
            compile_java(settings.STREAM_JAVA, classes)
            subprocess.run([settings.JAVA_HOME / "bin" / "jar", "cf", Path(tmp) / jar.name, "-C", classes, "."],
                           check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            raise SystemExit(f"error: could not build {jar.name} from {settings.STREAM_JAVA}: "
                             f"{e.stderr.decode(errors='replace').strip()}")
        os.replace(Path(tmp) / jar.name, jar)
    return jar


def session(app_name: str):
    """A SparkSession with Hive support, wired to this deployment's metastore and HDFS."""
    from pyspark.sql import SparkSession

    stream_jar()  # in spark.jars

    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.spark_conf().items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()

