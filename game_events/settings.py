"""Every endpoint, port, path and name of a deployment, in one place, from the environment.

The defaults suit the local stack (`make up`). The compose deployment changes only host
names (BIND_HOST=0.0.0.0 and each *_HOST set to a service name); users with their own
clusters point the same variables there. Everything else derives from this module: the
stack's config templates (template_values), Spark's configuration (spark_conf, also
rendered as spark-defaults.conf) and the bin/ wrappers (`python -m game_events.settings`
prints these settings as shell assignments).

Reading it has no side effects: it only reads files and environment variables.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import sys
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = ROOT / "stack" / "versions.env"
VERSIONS = dict(
    line.split("=", 1) for line in VERSIONS_FILE.read_text().splitlines() if line and not line.startswith("#")
)

# --- the profile: one node per engine (local), or small clusters on this host (cluster) --
PROFILES = ("local", "cluster")
# `up` of the cluster profile writes its name here and `down` removes it, so that later
# commands without STACK_PROFILE act on whichever profile is running.
ACTIVE_PROFILE_FILE = ROOT / "var" / "active-profile"


def _profile() -> str:
    active = ACTIVE_PROFILE_FILE.read_text().strip() if ACTIVE_PROFILE_FILE.exists() else "local"
    profile = _env("STACK_PROFILE", active)
    if profile not in PROFILES:
        raise SystemExit(f"error: STACK_PROFILE={profile!r}; it is one of: {', '.join(PROFILES)}")
    return profile


PROFILE = _profile()
CLUSTER = PROFILE == "cluster"


def _by_profile(local, cluster):
    return cluster if CLUSTER else local


# --- where things live on this machine -------------------------------------------------
CACHE = Path(_env("GAME_EVENTS_CACHE", str(Path.home() / ".cache" / "game-events")))
# The profiles never share storage: their Kafka quorums and HDFS layouts differ.
PROFILE_DATA = {"local": ROOT / "var", "cluster": ROOT / "var-cluster"}
DATA = Path(_env("STACK_DATA", str(PROFILE_DATA[PROFILE]))).resolve()
CONF = DATA / "conf"
LOGS = DATA / "logs"
RUN = DATA / "run"
VENV = Path(_env("VENV", str(ROOT / ".venv")))
JAVA_HOME = Path(_env("JAVA17_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"))
JARS = {
    "kafka": CACHE / "jars" / f"kafka-{VERSIONS['KAFKA_VERSION']}",
    "hadoop": CACHE / "jars" / f"hadoop-{VERSIONS['HADOOP_VERSION']}",
    "spark-kafka": CACHE / "jars" / f"spark-kafka-{VERSIONS['SPARK_VERSION']}",
}
# The stream's own Catalyst expression (game_events/stream/java), built from its source on
# first use (game_events.spark.stream_jar): named after the source, so an edit rebuilds it.
STREAM_JAVA = ROOT / "game_events" / "stream" / "java" / "ApiForm.java"
STREAM_JAR = (CACHE / "jars" / f"game-events-stream-{hashlib.sha256(STREAM_JAVA.read_bytes()).hexdigest()[:12]}"
              / "game-events-stream.jar")
PRESTO_HOME = CACHE / f"presto-server-{VERSIONS['PRESTO_VERSION']}"
PRESTO_CLI = CACHE / f"presto-cli-{VERSIONS['PRESTO_VERSION']}-executable.jar"

# --- endpoints: hosts and ports (ports follow the seed where it names one) -------------
BIND_HOST = _env("BIND_HOST", "127.0.0.1")
KAFKA_HOST = _env("KAFKA_HOST", "127.0.0.1")
KAFKA_PORT = int(_env("KAFKA_PORT", "29092"))
KAFKA_CONTROLLER_PORT = int(_env("KAFKA_CONTROLLER_PORT", "29093"))
# The cluster profile's second and third Kafka nodes (kafka1 keeps the ports above).
KAFKA2_PORT = int(_env("KAFKA2_PORT", "29094"))
KAFKA2_CONTROLLER_PORT = int(_env("KAFKA2_CONTROLLER_PORT", "29095"))
KAFKA3_PORT = int(_env("KAFKA3_PORT", "29096"))
KAFKA3_CONTROLLER_PORT = int(_env("KAFKA3_CONTROLLER_PORT", "29097"))
# Kafka's nodes: (service, node id, client port, controller port), ports by setting name.
KAFKA_NODES = _by_profile(
    [("kafka", 1, "KAFKA_PORT", "KAFKA_CONTROLLER_PORT")],
    [("kafka1", 1, "KAFKA_PORT", "KAFKA_CONTROLLER_PORT"), ("kafka2", 2, "KAFKA2_PORT", "KAFKA2_CONTROLLER_PORT"),
     ("kafka3", 3, "KAFKA3_PORT", "KAFKA3_CONTROLLER_PORT")])
# local: a dynamic quorum of one voter; cluster: a static one that every node lists.
KAFKA_QUORUM = _by_profile(f"controller.quorum.bootstrap.servers={KAFKA_HOST}:{KAFKA_CONTROLLER_PORT}",
                           "controller.quorum.voters=" + ",".join(f"{node}@{KAFKA_HOST}:{globals()[cport]}"
                                                                  for _, node, _, cport in KAFKA_NODES))
# How fast Kafka notices a lost node: its defaults in the local profile, and in the
# cluster within the API's ack timeout (stack/templates/kafka/server.properties says why).
KAFKA_HEARTBEAT_MS = _by_profile(2000, 500)
KAFKA_SESSION_TIMEOUT_MS = _by_profile(9000, 1500)
KAFKA_QUORUM_FETCH_TIMEOUT_MS = _by_profile(2000, 1000)
KAFKA_ELECTION_TIMEOUT_MS = _by_profile(1000, 500)
KAFKA_REPLICA_LAG_MS = _by_profile(30000, 3000)
KAFKA_OFFSETS_PARTITIONS = _by_profile(50, 6)
# Every broker, so that a client started while one is down still finds the others.
KAFKA_BOOTSTRAP = _env("KAFKA_BOOTSTRAP", ",".join(f"{KAFKA_HOST}:{globals()[port]}" for _, _, port, _ in KAFKA_NODES))
NAMENODE_HOST = _env("NAMENODE_HOST", "127.0.0.1")
NAMENODE_PORT = int(_env("NAMENODE_PORT", "8020"))
NAMENODE_HTTP_PORT = int(_env("NAMENODE_HTTP_PORT", "9870"))
NAMENODE = _env("NAMENODE", f"hdfs://{NAMENODE_HOST}:{NAMENODE_PORT}")
WEBHDFS = _env("WEBHDFS", f"http://{NAMENODE_HOST}:{NAMENODE_HTTP_PORT}")
DATANODE_HOST = _env("DATANODE_HOST", "127.0.0.1")
DATANODE_PORT = int(_env("DATANODE_PORT", "9866"))
DATANODE_HTTP_PORT = int(_env("DATANODE_HTTP_PORT", "9864"))
DATANODE_IPC_PORT = int(_env("DATANODE_IPC_PORT", "9867"))
# The cluster profile's second DataNode (datanode1 keeps the ports above).
DATANODE2_PORT = int(_env("DATANODE2_PORT", "9966"))
DATANODE2_HTTP_PORT = int(_env("DATANODE2_HTTP_PORT", "9964"))
DATANODE2_IPC_PORT = int(_env("DATANODE2_IPC_PORT", "9967"))
# HDFS's DataNodes: (service, data folder, transfer, http and ipc ports by setting name).
DATANODES = _by_profile(
    [("datanode", "data", "DATANODE_PORT", "DATANODE_HTTP_PORT", "DATANODE_IPC_PORT")],
    [("datanode1", "data1", "DATANODE_PORT", "DATANODE_HTTP_PORT", "DATANODE_IPC_PORT"),
     ("datanode2", "data2", "DATANODE2_PORT", "DATANODE2_HTTP_PORT", "DATANODE2_IPC_PORT")])
METASTORE_HOST = _env("METASTORE_HOST", "127.0.0.1")
METASTORE_PORT = int(_env("METASTORE_PORT", "9083"))
METASTORE_URI = _env("METASTORE_URI", f"thrift://{METASTORE_HOST}:{METASTORE_PORT}")
PRESTO_HOST = _env("PRESTO_HOST", "127.0.0.1")
PRESTO_PORT = int(_env("PRESTO_PORT", "8080"))
PRESTO_URL = f"http://{PRESTO_HOST}:{PRESTO_PORT}"
# The cluster profile's Presto worker; the coordinator there schedules no work on itself.
PRESTO_WORKER_PORT = int(_env("PRESTO_WORKER_PORT", "8085"))
PRESTO_INCLUDE_COORDINATOR = _by_profile("true", "false")
# Presto's nodes: (service, node id, http port by setting name, coordinator?).
PRESTO_NODES = _by_profile(
    [("presto", "game-events-presto-1", "PRESTO_PORT", "true")],
    [("presto", "game-events-presto-1", "PRESTO_PORT", "true"),
     ("presto-worker1", "game-events-presto-worker-1", "PRESTO_WORKER_PORT", "false")])
# API_HOST is where the API's server binds; clients on this host reach a wildcard bind on loopback.
API_HOST = _env("API_HOST", "127.0.0.1")
API_PORT = int(_env("API_PORT", "5000"))
API_URL = _env("API_URL", f"http://{'127.0.0.1' if API_HOST in ('0.0.0.0', '::') else API_HOST}:{API_PORT}")
# Two worker processes per core: a request holds its worker's GIL for about half a
# millisecond, and with one worker per core requests queue for a GIL while the core could
# run another worker (here, c=32 with keep-alive: 3,100 -> 5,400 req/s; POST /events:
# 65,000 -> 110,000 events/s; 8 workers were slower again).
API_WORKERS = int(_env("API_WORKERS", str(2 * (os.cpu_count() or 1))))
# Threads per worker: each waits on Kafka's acknowledgement with its request.
API_THREADS = int(_env("API_THREADS", "16"))
# A line per request in the API's log; it costs about 8% of the API's throughput (0 turns it off).
API_ACCESS_LOG = _env("API_ACCESS_LOG", "1") != "0"
# The cluster profile's Spark standalone master and workers. The master's UI leaves 8080,
# its default, to Presto.
SPARK_MASTER_PORT = int(_env("SPARK_MASTER_PORT", "7077"))
SPARK_MASTER_UI_PORT = int(_env("SPARK_MASTER_UI_PORT", "8180"))
SPARK_WORKER1_PORT = int(_env("SPARK_WORKER1_PORT", "7081"))
SPARK_WORKER2_PORT = int(_env("SPARK_WORKER2_PORT", "7082"))
SPARK_WORKER1_UI_PORT = int(_env("SPARK_WORKER1_UI_PORT", "8181"))
SPARK_WORKER2_UI_PORT = int(_env("SPARK_WORKER2_UI_PORT", "8182"))
# Spark's workers: (service, rpc port, web UI port by setting name), one core each.
SPARK_WORKERS = _by_profile([], [("spark-worker1", "SPARK_WORKER1_PORT", "SPARK_WORKER1_UI_PORT"),
                                 ("spark-worker2", "SPARK_WORKER2_PORT", "SPARK_WORKER2_UI_PORT")])
SPARK_MASTER = _env("SPARK_MASTER", _by_profile("local[2]", f"spark://127.0.0.1:{SPARK_MASTER_PORT}"))
SPARK_DRIVER_HOST = _env("SPARK_DRIVER_HOST", "127.0.0.1")
SPARK_UI_PORT = 4040
KAFKA_LOG_LEVEL = _env("KAFKA_LOG_LEVEL", "info")
HADOOP_LOG_LEVEL = _env("HADOOP_LOG_LEVEL", "INFO")
DFS_REPLICATION = _by_profile(1, 2)
# How fast the NameNode stops sending reads and new blocks to a silent DataNode:
# HDFS's defaults on one node; stale after 3 s in the cluster.
DFS_RECHECK_MS = _by_profile(300000, 2000)
DFS_STALE_MS = _by_profile(30000, 3000)
DFS_AVOID_STALE = _by_profile("false", "true")
# A client closing a file waits until the NameNode has its last block; HDFS first checks back
# after 400 ms. Every landed batch closes several files (its parts, its footer, the stream's
# offset and commit logs): 40 ms took the landing's 0.4 s stalls away (timed per step). The
# wait doubles on each try: 8 tries instead of 5 keep the client waiting about 10 s in all
# (HDFS's defaults: 12 s) before it gives up on a slow NameNode.
DFS_CLOSE_RETRY_MS = 40
DFS_CLOSE_RETRIES = 8

# --- names of the pipeline's topic, tables and paths -----------------------------------
TOPIC = _env("EVENTS_TOPIC", "events")
TOPIC_PARTITIONS = int(_env("EVENTS_PARTITIONS", _by_profile("1", "6")))
TOPIC_REPLICATION = _by_profile(1, 3)
# With acks=all, a write needs this many replicas in sync: one node of three may be lost.
KAFKA_MIN_ISR = _by_profile(1, 2)
EVENTS_TABLE = "hive_events"
BAD_EVENTS_TABLE = "hive_bad_events"
EVENTS_PATH = _env("EVENTS_PATH", "/tmp/game_events")
BAD_EVENTS_PATH = _env("BAD_EVENTS_PATH", "/tmp/game_bad_events")
CHECKPOINT_PATH = _env("CHECKPOINT_PATH", "/tmp/checkpoints/write_event_stream")

# --- behaviour -------------------------------------------------------------------------
TRIGGER = _env("STREAM_TRIGGER", "10 seconds")
# Bounds one micro-batch when draining a backlog. Each batch pays a fixed cost (planning,
# a cold first pass, the commit), and nothing holds a batch in memory, so a large bound
# drains faster: 1 M events in 16-18 s in one batch, 21.5 s in two (BENCHMARKS.md).
MAX_OFFSETS_PER_TRIGGER = int(_env("MAX_OFFSETS_PER_TRIGGER", "1000000"))
# Spark's Kafka source runs one task per topic partition unless told to split: at least
# one task per core, so that every core parses even a one-partition topic.
STREAM_MIN_PARTITIONS = int(_env("STREAM_MIN_PARTITIONS", str(os.cpu_count() or 1)))
# Failures in a row (no batch landed in between) after which the job stops restarting.
STREAM_MAX_FAILURES = int(_env("STREAM_MAX_FAILURES", "10"))
# Where the job writes its counters after each batch, for `make status`; unset: nowhere.
STREAM_PROGRESS_FILE = os.environ.get("STREAM_PROGRESS_FILE")
# Touched once the streaming query runs, so the launcher knows it is up; unset: nothing.
STREAM_READY_FILE = os.environ.get("GAME_EVENTS_READY_FILE")
# How long the API waits for Kafka to acknowledge an event before answering 503. In the
# cluster a request in flight when the active controller dies waits for a new controller,
# the dead broker's fencing and a new leader: 3.3-4.5 s on this 2-core machine, too close
# to the 4.5 s librdkafka gets out of 5 s (one to three 503s in two CI runs).
KAFKA_ACK_TIMEOUT_S = float(_env("KAFKA_ACK_TIMEOUT_S", _by_profile("5", "8")))
# Bounds every Presto query the project makes (analytics, probes, tests).
PRESTO_TIMEOUT_S = float(_env("PRESTO_TIMEOUT_S", "120"))


def spark_conf() -> dict[str, str]:
    """Spark's settings for this deployment: rendered as spark-defaults.conf for
    spark-submit, and applied by game_events.spark.session() to sessions started from Python."""
    jars = sorted(JARS["spark-kafka"].glob("*.jar")) if JARS["spark-kafka"].exists() else []
    jars.append(STREAM_JAR)
    conf = {
        "spark.master": SPARK_MASTER,
        "spark.jars": ",".join(str(p) for p in jars),
        "spark.hadoop.fs.defaultFS": NAMENODE,
        # A session started from plain Python reads no hdfs-site.xml: HDFS's default of 3
        # copies would leave every block it writes under-replicated here, and its clients
        # would wait 400 ms to close a file.
        "spark.hadoop.dfs.replication": str(DFS_REPLICATION),
        "spark.hadoop.dfs.client.block.write.locateFollowingBlock.initial.delay.ms": str(DFS_CLOSE_RETRY_MS),
        "spark.hadoop.dfs.client.block.write.locateFollowingBlock.retries": str(DFS_CLOSE_RETRIES),
        "spark.hadoop.hive.metastore.uris": METASTORE_URI,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.session.timeZone": "UTC",
        # Decimals as fixed-length byte arrays, as Hive-era readers (Presto's) expect.
        "spark.sql.parquet.writeLegacyFormat": "true",
        # The stream caches each micro-batch only until both tables are written:
        # compressing that cache costs CPU and saves nothing worth having.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        "spark.driver.bindAddress": BIND_HOST,
        "spark.driver.host": SPARK_DRIVER_HOST,
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        # HotSpot never compiles a method over 8,000 bytes of bytecode; the stream's rules
        # make such a whole-stage method, which then runs interpreted (half the parse speed).
        "spark.sql.codegen.hugeMethodLimit": "8000",
        # On two cores G1's concurrent threads compete with the tasks: the throughput
        # collector drains a backlog faster (BENCHMARKS.md).
        "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
        "spark.executor.extraJavaOptions": "-XX:+UseParallelGC",
        # The cluster profile: one executor on each one-core worker, and the app takes both.
        "spark.executor.cores": _by_profile("", "1"),
        "spark.cores.max": _by_profile("", str(len(SPARK_WORKERS))),
        "spark.executor.memory": _by_profile("", "640m"),
        # A killed executor fails its running tasks once each; keep the batch alive through
        # a few such losses while they run again on the other worker.
        "spark.task.maxFailures": _by_profile("", "8"),
    }
    return {key: value for key, value in conf.items() if value != ""}  # "": Spark's default


def port(key: str) -> int:
    """A port by the name of its setting, as the node tables above give them."""
    return globals()[key]


def template_values() -> dict[str, str]:
    """The names the config templates in stack/templates may use, as ${NAME}."""
    values = {name: str(value) for name, value in globals().items()
              if name.isupper() and isinstance(value, (str, int, float, Path))}
    values.update(DATA_DIR=str(DATA), CONF_DIR=str(CONF))
    return values


def shell() -> str:
    """These settings as shell assignments, for the bin/ wrappers (sourced by _env.sh)."""
    values = {**template_values(), **VERSIONS}
    values.update({f"JARS_{k.upper().replace('-', '_')}": str(v) for k, v in JARS.items()})
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(values.items()))


if __name__ == "__main__":
    sys.stdout.write(shell())
