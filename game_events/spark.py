"""Spark sessions for this deployment, and Hadoop paths through a session's JVM.

Spark's settings come from settings.spark_conf(), the same that the stack renders as
spark-defaults.conf for spark-submit; a session started from plain Python gets them here.
"""
from __future__ import annotations

from game_events import settings


def session(app_name: str):
    """A SparkSession with Hive support, wired to this deployment's metastore and HDFS."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.spark_conf().items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


def hadoop_path(spark, path: str):
    """(file system, Hadoop Path) for a path, through the session's JVM: what the stream
    lands with, so it sees HDFS exactly as Spark's writers do."""
    target = spark._jvm.org.apache.hadoop.fs.Path(path)
    return target.getFileSystem(spark._jsc.hadoopConfiguration()), target
