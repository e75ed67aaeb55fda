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


class HadoopFs:
    """HDFS through a session's own Hadoop client, with WebHdfs's method names for what
    the Spark jobs need (parquet_footer reads footers through either): the stream lands
    with the client its writers use, so it sees HDFS exactly as they do and needs no
    WebHDFS."""

    def __init__(self, spark):
        self.jvm, self.gateway = spark._jvm, spark.sparkContext._gateway
        self.conf = spark._jsc.hadoopConfiguration()

    def _path(self, path: str):
        p = self.jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self.conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._path(path)
        return fs.exists(p)

    def files(self, path: str) -> list[tuple[str, int]]:
        """(full path, length) of each file in a directory."""
        fs, p = self._path(path)
        return [(s.getPath().toString(), s.getLen()) for s in fs.listStatus(p) if s.isFile()]

    def dirs(self, path: str) -> list[str]:
        fs, p = self._path(path)
        return [s.getPath().toString() for s in fs.listStatus(p) if s.isDirectory()]

    def read(self, path: str, offset: int, length: int) -> bytes:
        fs, p = self._path(path)
        stream = fs.open(p)
        try:
            stream.seek(offset)
            return bytes(self.jvm.org.apache.commons.io.IOUtils.toByteArray(stream, length))
        finally:
            stream.close()

    def create(self, path: str, data: bytes) -> None:
        fs, p = self._path(path)
        out = fs.create(p, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def concat(self, target: str, sources: list[str]) -> None:
        fs, p = self._path(target)
        paths = self.gateway.new_array(self.jvm.org.apache.hadoop.fs.Path, len(sources))
        for i, s in enumerate(sources):
            paths[i] = self.jvm.org.apache.hadoop.fs.Path(s)
        fs.concat(p, paths)

    def rename(self, src: str, dst: str) -> None:
        fs, p = self._path(src)
        if not fs.rename(p, self.jvm.org.apache.hadoop.fs.Path(dst)):
            raise IOError(f"could not rename {src} to {dst}")

    def rename_over(self, src: str, dst: str) -> None:
        """Renames src to dst, replacing dst, in one NameNode operation."""
        fs_pkg = self.jvm.org.apache.hadoop.fs
        options = self.gateway.new_array(getattr(fs_pkg, "Options$Rename"), 1)
        options[0] = getattr(fs_pkg, "Options$Rename").OVERWRITE
        _, p = self._path(src)
        fs_pkg.FileContext.getFileContext(p.toUri(), self.conf).rename(p, fs_pkg.Path(dst), options)

    def delete(self, path: str, recursive: bool = False) -> bool:
        fs, p = self._path(path)
        return fs.delete(p, recursive)
