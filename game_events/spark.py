"""Spark sessions for this deployment.

Spark's settings come from spark_conf() below, the same that the stack renders as
spark-defaults.conf for spark-submit; a session started from plain Python gets them here.
"""
from __future__ import annotations

import os
from pathlib import Path

from game_events import settings


def pyspark_jars() -> Path:
    """The jars pyspark ships: Spark's own, and the Hive ones the metastore runs on."""
    # Under spark-submit pyspark is imported from a zip inside SPARK_HOME, which has no jars.
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"]) / "jars"
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def session(app_name: str):
    """A SparkSession with Hive support, wired to this deployment's metastore and HDFS."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf().items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


def spark_conf() -> dict[str, str]:
    """Spark's settings for this deployment: rendered as spark-defaults.conf for
    spark-submit (stack/render.py), and applied by session() to sessions started from Python."""
    jars = sorted(settings.JARS["spark-kafka"].glob("*.jar")) if settings.JARS["spark-kafka"].exists() else []
    conf = {
        "spark.master": settings.SPARK_MASTER,
        "spark.jars": ",".join(str(p) for p in jars),
        "spark.hadoop.fs.defaultFS": settings.NAMENODE,
        # A session started from plain Python reads no hdfs-site.xml: HDFS's default of 3
        # copies would leave every block it writes under-replicated here, and its clients
        # would wait 400 ms to close a file.
        "spark.hadoop.dfs.replication": str(settings.DFS_REPLICATION),
        "spark.hadoop.dfs.client.block.write.locateFollowingBlock.initial.delay.ms": str(settings.DFS_CLOSE_RETRY_MS),
        "spark.hadoop.dfs.client.block.write.locateFollowingBlock.retries": str(settings.DFS_CLOSE_RETRIES),
        "spark.hadoop.hive.metastore.uris": settings.METASTORE_URI,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.session.timeZone": "UTC",
        # Decimals as fixed-length byte arrays, as Hive-era readers (Presto's) expect.
        "spark.sql.parquet.writeLegacyFormat": "true",
        # The stream caches each micro-batch only until both tables are written:
        # compressing that cache costs CPU and saves nothing worth having.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        "spark.driver.memory": settings.SPARK_DRIVER_MEMORY,
        "spark.driver.bindAddress": settings.BIND_HOST,
        "spark.driver.host": settings.SPARK_DRIVER_HOST,
        "spark.ui.showConsoleProgress": "false",
        # The stream's probe and Prometheus look for its driver here (STACK_PORT_OFFSET
        # moves it for a second stack); a job started beside it takes the next free port.
        "spark.ui.port": str(settings.SPARK_UI_PORT),
        # Prometheus' text format on every web UI (the driver's, and the cluster's master
        # and workers', which read this file too), for the stack's Prometheus; Spark serves
        # it only when asked (its default sink is /metrics/json). The sink must be named
        # prometheusServlet. A fixed namespace keeps the app id out of the metric names.
        "spark.metrics.namespace": "game_events",
        "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
        "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
        "spark.metrics.conf.master.sink.prometheusServlet.path": "/metrics/master/prometheus",
        "spark.metrics.conf.applications.sink.prometheusServlet.path": "/metrics/applications/prometheus",
        "spark.sql.shuffle.partitions": "2",
        # HotSpot never compiles a method over 8,000 bytes of bytecode; the stream's rules
        # make such a whole-stage method, which then runs interpreted (half the parse speed).
        "spark.sql.codegen.hugeMethodLimit": "8000",
        # On two cores G1's concurrent threads compete with the tasks: the throughput
        # collector drains a backlog faster (BENCHMARKS.md).
        "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
        "spark.executor.extraJavaOptions": "-XX:+UseParallelGC",
    }
    if settings.CLUSTER:
        conf.update({
            # One executor on each one-core worker, and the app takes both.
            "spark.executor.cores": "1",
            "spark.cores.max": str(len(settings.SPARK_WORKERS)),
            "spark.executor.memory": "640m",
            # A killed executor fails its running tasks once each; keep the batch alive
            # through a few such losses while they run again on the other worker.
            "spark.task.maxFailures": "8",
        })
    return {key: value for key, value in conf.items() if value != ""}  # no jars: Spark's default
