"""Endpoints and names, from environment variables. The defaults suit the local stack
(`make up`); the compose deployment sets the same variables to its service names, and
users with their own clusters point them there."""
import os


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


KAFKA_BOOTSTRAP = _env("KAFKA_BOOTSTRAP", f"{_env('KAFKA_HOST', '127.0.0.1')}:{_env('KAFKA_PORT', '29092')}")
NAMENODE = _env("NAMENODE", f"hdfs://{_env('NAMENODE_HOST', '127.0.0.1')}:{_env('NAMENODE_PORT', '8020')}")
# WebHDFS, for the compaction job (game_events.compaction), which needs no Spark.
WEBHDFS = _env("WEBHDFS", f"http://{_env('NAMENODE_HOST', '127.0.0.1')}:{_env('NAMENODE_HTTP_PORT', '9870')}")
METASTORE_URI = _env("METASTORE_URI", f"thrift://{_env('METASTORE_HOST', '127.0.0.1')}:{_env('METASTORE_PORT', '9083')}")
SPARK_MASTER = _env("SPARK_MASTER", "local[2]")
PRESTO_HOST = _env("PRESTO_HOST", "127.0.0.1")
PRESTO_PORT = int(_env("PRESTO_PORT", "8080"))

TOPIC = _env("EVENTS_TOPIC", "events")
EVENTS_TABLE = "hive_events"
BAD_EVENTS_TABLE = "hive_bad_events"
EVENTS_PATH = _env("EVENTS_PATH", "/tmp/game_events")
BAD_EVENTS_PATH = _env("BAD_EVENTS_PATH", "/tmp/game_bad_events")
CHECKPOINT_PATH = _env("CHECKPOINT_PATH", "/tmp/checkpoints/write_event_stream")
TRIGGER = _env("STREAM_TRIGGER", "10 seconds")
# Bounds one micro-batch when draining a backlog.
MAX_OFFSETS_PER_TRIGGER = int(_env("MAX_OFFSETS_PER_TRIGGER", "500000"))
# Failures in a row (no batch landed in between) after which the job stops restarting.
STREAM_MAX_FAILURES = int(_env("STREAM_MAX_FAILURES", "10"))
# Where the job writes its counters after each batch, for `make status`; unset: nowhere.
STREAM_PROGRESS_FILE = os.environ.get("STREAM_PROGRESS_FILE")

# How long the API waits for Kafka to acknowledge an event before answering 503.
KAFKA_ACK_TIMEOUT_S = float(_env("KAFKA_ACK_TIMEOUT_S", "5"))


def spark_session(app_name: str):
    """A SparkSession with Hive support, wired to this deployment's metastore and HDFS."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName(app_name)
        .master(SPARK_MASTER)
        .config("spark.hadoop.fs.defaultFS", NAMENODE)
        .config("spark.hadoop.hive.metastore.uris", METASTORE_URI)
        .config("spark.sql.session.timeZone", "UTC")
        # Decimals as fixed-length byte arrays, as Hive-era readers (Presto's) expect.
        .config("spark.sql.parquet.writeLegacyFormat", "true")
        # The stream caches each micro-batch only until both tables are written:
        # compressing that cache costs CPU and saves nothing worth having.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
