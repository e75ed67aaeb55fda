"""Every endpoint, port, path and name of a deployment, read from the environment: one
section per engine, then the pipeline's own names and the stream's behaviour.

The defaults suit the local stack (`make up`), in the profile that STACK_PROFILE names
(local when unset; the launcher, make and bin/ set it to the running profile). The
compose deployment changes only host names (BIND_HOST=0.0.0.0 and each *_HOST set to a
service name); users with their own clusters point the same variables there. README.md's
table of variables lists every one read here (ENV_NAMES). Each profile's nodes are listed
in its engine's section; a node that only the cluster runs has its ports there alone.

Importing this reads the environment and stack/versions.env, nothing else. What is
rendered from these values lives beside its user: Spark's configuration in
game_events.spark.spark_conf, the config templates and the bin/ wrappers' shell
assignments in stack/render.py.
"""
from __future__ import annotations

import os
from pathlib import Path

from game_events.topology import DataNode, KafkaNode, PrestoNode, SparkWorker

# Every variable read below, for the test that README.md's table lists them all.
ENV_NAMES: set[str] = set()
# The variable that sets each port, for the launcher's message when a port is taken.
PORT_VARS: dict[int, str] = {}


def _env(name: str, default: str | None) -> str | None:
    ENV_NAMES.add(name)
    return os.environ.get(name) or default


def _typed(kind: type, name: str, default: str):
    raw = _env(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


_MS_PER = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def _duration_ms(name: str, default: str) -> int:
    """A duration written as Spark writes a trigger's ("10 seconds", "1 hour"), in milliseconds."""
    raw = _env(name, default)
    words = raw.split()
    unit = words[1].lower().removesuffix("s") if len(words) == 2 else ""
    if unit not in _MS_PER or not words[0].isdigit():
        raise ValueError(f"{name}={raw!r} is not a duration like '90 seconds' or '1 hour'")
    return int(words[0]) * _MS_PER[unit]


def _moved(default: str) -> str:
    """A default port, moved by STACK_PORT_OFFSET."""
    return str(int(default) + PORT_OFFSET)


def _port(name: str, default: str) -> int:
    port = _typed(int, name, _moved(default))
    PORT_VARS[port] = name
    return port


ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = ROOT / "stack" / "versions.env"
VERSIONS = dict(
    line.split("=", 1) for line in VERSIONS_FILE.read_text().splitlines() if line and not line.startswith("#")
)

# Added to every default port below: a second stack (with its own STACK_DATA) runs beside
# the first on this host, as `make test` runs its fault tests and the cluster's.
PORT_OFFSET = _typed(int, "STACK_PORT_OFFSET", "0")

# --- the profile: one node per engine (local), or small clusters on this host (cluster) --
# The profiles never share storage: their Kafka quorums and HDFS layouts differ.
PROFILE_DATA = {"local": ROOT / "var", "cluster": ROOT / "var-cluster"}
PROFILES = tuple(PROFILE_DATA)
PROFILE = _env("STACK_PROFILE", "local")
if PROFILE not in PROFILES:
    raise ValueError(f"STACK_PROFILE={PROFILE!r}; it is one of: {', '.join(PROFILES)}")
CLUSTER = PROFILE == "cluster"


def _by_profile(local, cluster):
    return cluster if CLUSTER else local


# --- where things live on this machine -------------------------------------------------
CACHE = Path(_env("GAME_EVENTS_CACHE", str(Path.home() / ".cache" / "game-events")))
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
    "jmx-exporter": CACHE / "jars" / f"jmx-exporter-{VERSIONS['JMX_EXPORTER_VERSION']}",
}
# The Prometheus JMX exporter's Java agent: each engine's JVM (Kafka, the NameNode and
# DataNodes, the metastore, Presto) serves its chosen MBeans and the JVM's own metrics at
# /metrics on the node's jmx_port (97xx), with the rules of stack/templates/jmx-exporter.
JMX_AGENT = JARS["jmx-exporter"] / f"jmx_prometheus_javaagent-{VERSIONS['JMX_EXPORTER_VERSION']}.jar"
PRESTO_HOME = CACHE / f"presto-server-{VERSIONS['PRESTO_VERSION']}"
PRESTO_CLI = CACHE / f"presto-cli-{VERSIONS['PRESTO_VERSION']}-executable.jar"
# Where every service listens (ports follow the seed where it names one).
BIND_HOST = _env("BIND_HOST", "127.0.0.1")


def reachable(host: str) -> str:
    """Where a client on this host reaches a server bound to `host`: loopback for a wildcard bind."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


# --- Kafka -----------------------------------------------------------------------------
KAFKA_HOST = _env("KAFKA_HOST", "127.0.0.1")
KAFKA_PORT = _port("KAFKA_PORT", "29092")
KAFKA_CONTROLLER_PORT = _port("KAFKA_CONTROLLER_PORT", "29093")
KAFKA_JMX_PORT = _port("KAFKA_JMX_PORT", "9701")
# In the cluster kafka1 keeps the ports above.
KAFKA_NODES = _by_profile(
    (KafkaNode("kafka", 1, KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_JMX_PORT),),
    (KafkaNode("kafka1", 1, KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_JMX_PORT),
     KafkaNode("kafka2", 2, _port("KAFKA2_PORT", "29094"), _port("KAFKA2_CONTROLLER_PORT", "29095"),
               _port("KAFKA2_JMX_PORT", "9702")),
     KafkaNode("kafka3", 3, _port("KAFKA3_PORT", "29096"), _port("KAFKA3_CONTROLLER_PORT", "29097"),
               _port("KAFKA3_JMX_PORT", "9703"))))
# Every broker, so that a client started while one is down still finds the others.
KAFKA_BOOTSTRAP = _env("KAFKA_BOOTSTRAP", ",".join(f"{KAFKA_HOST}:{n.port}" for n in KAFKA_NODES))
# local: a dynamic quorum of one voter; cluster: a static one that every node lists.
KAFKA_QUORUM = _by_profile(f"controller.quorum.bootstrap.servers={KAFKA_HOST}:{KAFKA_CONTROLLER_PORT}",
                           "controller.quorum.voters=" + ",".join(f"{n.node_id}@{KAFKA_HOST}:{n.controller_port}"
                                                                  for n in KAFKA_NODES))
# How fast Kafka notices a lost node: its defaults in the local profile, and in the
# cluster within the API's ack timeout (stack/templates/kafka/server.properties says why).
KAFKA_HEARTBEAT_MS = _by_profile(2000, 500)
KAFKA_SESSION_TIMEOUT_MS = _by_profile(9000, 1500)
KAFKA_QUORUM_FETCH_TIMEOUT_MS = _by_profile(2000, 1000)
KAFKA_ELECTION_TIMEOUT_MS = _by_profile(1000, 500)
KAFKA_REPLICA_LAG_MS = _by_profile(30000, 3000)
KAFKA_OFFSETS_PARTITIONS = _by_profile(50, 6)
KAFKA_LOG_LEVEL = _env("KAFKA_LOG_LEVEL", "info")

# --- HDFS ------------------------------------------------------------------------------
NAMENODE_HOST = _env("NAMENODE_HOST", "127.0.0.1")
NAMENODE_PORT = _port("NAMENODE_PORT", "8020")
NAMENODE_HTTP_PORT = _port("NAMENODE_HTTP_PORT", "9870")
NAMENODE_JMX_PORT = _port("NAMENODE_JMX_PORT", "9711")
NAMENODE = _env("NAMENODE", f"hdfs://{NAMENODE_HOST}:{NAMENODE_PORT}")
WEBHDFS = _env("WEBHDFS", f"http://{NAMENODE_HOST}:{NAMENODE_HTTP_PORT}")
DATANODE_HOST = _env("DATANODE_HOST", "127.0.0.1")
DATANODE_PORT = _port("DATANODE_PORT", "9866")
DATANODE_HTTP_PORT = _port("DATANODE_HTTP_PORT", "9864")
DATANODE_IPC_PORT = _port("DATANODE_IPC_PORT", "9867")
DATANODE_JMX_PORT = _port("DATANODE_JMX_PORT", "9721")
DATANODES = _by_profile(
    (DataNode("datanode", "data", DATANODE_PORT, DATANODE_HTTP_PORT, DATANODE_IPC_PORT, DATANODE_JMX_PORT),),
    (DataNode("datanode1", "data1", DATANODE_PORT, DATANODE_HTTP_PORT, DATANODE_IPC_PORT, DATANODE_JMX_PORT),
     DataNode("datanode2", "data2", _port("DATANODE2_PORT", "9966"), _port("DATANODE2_HTTP_PORT", "9964"),
              _port("DATANODE2_IPC_PORT", "9967"), _port("DATANODE2_JMX_PORT", "9722"))))
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
HADOOP_LOG_LEVEL = _env("HADOOP_LOG_LEVEL", "INFO")

# --- the Hive metastore ----------------------------------------------------------------
METASTORE_HOST = _env("METASTORE_HOST", "127.0.0.1")
METASTORE_PORT = _port("METASTORE_PORT", "9083")
METASTORE_JMX_PORT = _port("METASTORE_JMX_PORT", "9731")
METASTORE_URI = _env("METASTORE_URI", f"thrift://{METASTORE_HOST}:{METASTORE_PORT}")

# --- Presto ----------------------------------------------------------------------------
PRESTO_HOST = _env("PRESTO_HOST", "127.0.0.1")
PRESTO_PORT = _port("PRESTO_PORT", "8080")
PRESTO_JMX_PORT = _port("PRESTO_JMX_PORT", "9741")
PRESTO_URL = f"http://{PRESTO_HOST}:{PRESTO_PORT}"
# In the cluster the coordinator schedules no work on itself, and a worker runs it.
PRESTO_INCLUDE_COORDINATOR = _by_profile("true", "false")
PRESTO_NODES = _by_profile(
    (PrestoNode("presto", "game-events-presto-1", PRESTO_PORT, True, PRESTO_JMX_PORT),),
    (PrestoNode("presto", "game-events-presto-1", PRESTO_PORT, True, PRESTO_JMX_PORT),
     PrestoNode("presto-worker1", "game-events-presto-worker-1", _port("PRESTO_WORKER_PORT", "8085"), False,
                _port("PRESTO_WORKER_JMX_PORT", "9742"))))
# Bounds every Presto query the project makes (analytics, probes, tests).
PRESTO_TIMEOUT_S = _typed(float, "PRESTO_TIMEOUT_S", "120")

# --- Spark -----------------------------------------------------------------------------
# The cluster profile's standalone master and workers. The master's UI leaves 8080, its
# default, to Presto.
SPARK_MASTER_PORT = _port("SPARK_MASTER_PORT", "7077")
SPARK_MASTER_UI_PORT = _port("SPARK_MASTER_UI_PORT", "8180")
SPARK_WORKERS = _by_profile((), (
    SparkWorker("spark-worker1", _port("SPARK_WORKER1_PORT", "7081"), _port("SPARK_WORKER1_UI_PORT", "8181")),
    SparkWorker("spark-worker2", _port("SPARK_WORKER2_PORT", "7082"), _port("SPARK_WORKER2_UI_PORT", "8182"))))
SPARK_MASTER = _env("SPARK_MASTER", _by_profile("local[2]", f"spark://127.0.0.1:{SPARK_MASTER_PORT}"))
SPARK_DRIVER_HOST = _env("SPARK_DRIVER_HOST", "127.0.0.1")
SPARK_UI_PORT = _port("SPARK_UI_PORT", "4040")  # the stream's driver: its web UI and Spark's metrics

# --- the API ---------------------------------------------------------------------------
# API_HOST is where the API's server binds; clients on this host reach a wildcard bind on loopback.
API_HOST = _env("API_HOST", "127.0.0.1")
API_PORT = _port("API_PORT", "5000")
API_URL = _env("API_URL", f"http://{reachable(API_HOST)}:{API_PORT}")
# Two worker processes per core: a request holds its worker's GIL for about half a
# millisecond, and with one worker per core requests queue for a GIL while the core could
# run another worker (here, c=32 with keep-alive: 3,100 -> 5,400 req/s; POST /events:
# 65,000 -> 110,000 events/s; 8 workers were slower again).
API_WORKERS = _typed(int, "API_WORKERS", str(2 * (os.cpu_count() or 1)))
# Threads per worker: each waits on Kafka's acknowledgement with its request.
API_THREADS = _typed(int, "API_THREADS", "16")
# A line per request in the API's log; it costs about 8% of the API's throughput (0 turns it off).
API_ACCESS_LOG = _env("API_ACCESS_LOG", "1") != "0"
# How long the API waits for Kafka to acknowledge an event before answering 503. In the
# cluster a request in flight when the active controller dies waits for a new controller,
# the dead broker's fencing and a new leader: 3.3-4.5 s on this 2-core machine, too close
# to the 4.5 s librdkafka gets out of 5 s (one to three 503s in two CI runs).
KAFKA_ACK_TIMEOUT_S = _typed(float, "KAFKA_ACK_TIMEOUT_S", _by_profile("5", "8"))
# The API's Prometheus metrics (game_events/api/metrics.py): on unless API_METRICS=0.
API_METRICS = _env("API_METRICS", "1") != "0"
# 0: GET /metrics on the API's own port. Another port: the metrics there alone (on
# API_METRICS_HOST), and /metrics on the API's port is a 404, for an API that faces the public.
API_METRICS_PORT = _typed(int, "API_METRICS_PORT", "0")
if API_METRICS_PORT:
    PORT_VARS[API_METRICS_PORT] = "API_METRICS_PORT"
API_METRICS_HOST = _env("API_METRICS_HOST", API_HOST)
# The workers' metric files (prometheus_client's multiprocess mode), emptied when the API starts.
API_METRICS_DIR = Path(_env("API_METRICS_DIR", str(RUN / "api-metrics")))

# --- Prometheus (the `all` group: stack/templates/prometheus) ---------------------------
PROMETHEUS_PORT = _port("PROMETHEUS_PORT", "9090")
PROMETHEUS_URL = f"http://{reachable(BIND_HOST)}:{PROMETHEUS_PORT}"
PROMETHEUS_DATA = DATA / "prometheus"
# How often it scrapes and evaluates the alert rules: an alert whose window is 60 s fires
# within 60 s + a scrape + an evaluation, under 90 s.
PROMETHEUS_INTERVAL = _env("PROMETHEUS_INTERVAL", "10s")
PROMETHEUS_RETENTION = "2d"
# Debian's package ships Prometheus' console libraries (prom.lib, menu.lib) as examples
# only; /etc/prometheus/console_libraries holds a README.
PROMETHEUS_CONSOLE_LIBRARIES = Path("/usr/share/doc/prometheus/examples/console_libraries")
# The streaming job's own metrics (game_events/stream/metrics.py), served by its driver on
# BIND_HOST, Prometheus reaching it at SPARK_DRIVER_HOST; 0 turns them off.
STREAM_METRICS_PORT = _typed(int, "STREAM_METRICS_PORT", _moved("9108"))
if STREAM_METRICS_PORT:
    PORT_VARS[STREAM_METRICS_PORT] = "STREAM_METRICS_PORT"
# The stream's lag behind the topic, served by a process of its own (the lag-exporter
# service: game_events/stream/lag_exporter.py), so it is there while the stream is down.
LAG_EXPORTER_PORT = _port("LAG_EXPORTER_PORT", "9109")
LAG_EXPORTER_HOST = _env("LAG_EXPORTER_HOST", reachable(BIND_HOST))  # where Prometheus reaches it

# --- the pipeline's topic, tables and paths --------------------------------------------
TOPIC = _env("EVENTS_TOPIC", "events")
TOPIC_PARTITIONS = _typed(int, "EVENTS_PARTITIONS", _by_profile("1", "6"))
TOPIC_REPLICATION = _by_profile(1, 3)
# With acks=all, a write needs this many replicas in sync: one node of three may be lost.
KAFKA_MIN_ISR = _by_profile(1, 2)
EVENTS_TABLE = "hive_events"
BAD_EVENTS_TABLE = "hive_bad_events"
EVENTS_PATH = _env("EVENTS_PATH", "/tmp/game_events")
BAD_EVENTS_PATH = _env("BAD_EVENTS_PATH", "/tmp/game_bad_events")
CHECKPOINT_PATH = _env("CHECKPOINT_PATH", "/tmp/checkpoints/write_event_stream")

# --- the stream ------------------------------------------------------------------------
TRIGGER = _env("STREAM_TRIGGER", "10 seconds")
# Bounds one micro-batch when draining a backlog. Each batch pays a fixed cost (planning,
# a cold first pass, the commit), and nothing holds a batch in memory, so a large bound
# drains faster: 1 M events in 16-18 s in one batch, 21.5 s in two (BENCHMARKS.md).
MAX_OFFSETS_PER_TRIGGER = _typed(int, "MAX_OFFSETS_PER_TRIGGER", "1000000")
# Spark's Kafka source runs one task per topic partition unless told to split: at least
# one task per core, so that every core parses even a one-partition topic.
STREAM_MIN_PARTITIONS = _typed(int, "STREAM_MIN_PARTITIONS", str(os.cpu_count() or 1))
# Failures in a row (no batch landed in between) after which the job stops restarting.
STREAM_MAX_FAILURES = _typed(int, "STREAM_MAX_FAILURES", "10")
# The stream's parser of the API's form: "java" (game_events/stream/java, a Catalyst
# expression that `make install` builds with Maven for the pinned Spark) or "sql" (Spark's
# built-in functions alone, no jar). The stream falls back to "sql" when the jar is unusable.
STREAM_PARSER = _env("STREAM_PARSER", "java")
STREAM_JAR = Path(_env("STREAM_JAR", str(CACHE / "jars" / f"game-events-stream-spark-{VERSIONS['SPARK_VERSION']}.jar")))
# Deduplication by event id (game_events/stream/dedup.py): a copy of an id within the window,
# on Kafka's record timestamps, is dropped (or quarantined, with other content). The state
# keeps an id until the newest Kafka time the stream has seen passes it by window + grace,
# the grace covering partitions that lag behind the others.
STREAM_DEDUP = _env("STREAM_DEDUP", "on")
DEDUP_WINDOW_MS = _duration_ms("DEDUP_WINDOW", "1 hour")
DEDUP_GRACE_MS = _duration_ms("DEDUP_GRACE", "15 minutes")
# The deduplication's state, one file of ids per batch, beside the checkpoint whose batches
# they follow: restoring or removing the checkpoint takes them along.
DEDUP_PATH = _env("DEDUP_PATH", f"{CHECKPOINT_PATH}/dedup")
# The Spark driver's heap (every job's; the stream's is the one that grows). The stream holds
# the window's ids there, in a table of 32-byte slots that doubles when 3/4 full: Spark's
# default 1g keeps some 6M ids (1,700 events/s over a one-hour window), 2g 10M (BENCHMARKS.md).
SPARK_DRIVER_MEMORY = _env("SPARK_DRIVER_MEMORY", "1g")
# Where the job writes its counters after each batch, for `make status`; unset: nowhere.
STREAM_PROGRESS_FILE = _env("STREAM_PROGRESS_FILE", None)
# Touched once the streaming query runs, so the launcher knows it is up; unset: nothing.
STREAM_READY_FILE = _env("GAME_EVENTS_READY_FILE", None)
