"""How each engine is started: its command line, and the first-run steps that prepare
what it needs once (storage formats, a compiled launcher, the topic, the tables).

A command builder returns argv and checks the install; a first-run step is idempotent,
returns a line worth printing when it did something, and None when there was nothing to do.
"""
from __future__ import annotations

import base64
import subprocess
import threading
import uuid
from pathlib import Path

from game_events import settings
from game_events.spark import pyspark_jars
from stack import StackError, probes

ROOT = settings.ROOT
CONF = settings.CONF
NAMENODE_MAIN = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE_MAIN = "org.apache.hadoop.hdfs.server.datanode.DataNode"
METASTORE_SRC = Path(__file__).resolve().parent / "java" / "BoundMetastore.java"
METASTORE_LAUNCHER = settings.DATA / "metastore" / "launcher"


def java(tool: str = "java") -> str:
    exe = settings.JAVA_HOME / "bin" / tool
    if not exe.exists():
        raise StackError(f"Java 17 not found at {settings.JAVA_HOME}; install it with: "
                         "sudo apt-get install -y openjdk-17-jdk-headless (or set JAVA17_HOME)")
    return str(exe)


def compile_java(source: Path, classes: Path) -> None:
    """Compiles one Java source against pyspark's jars into the folder classes; a failure
    raises CalledProcessError with javac's stderr (bytes)."""
    subprocess.run([java("javac"), "-nowarn", "--release", "17", "-cp", f"{pyspark_jars()}/*", "-d", classes,
                    source], check=True, capture_output=True)


def need_install(path: Path) -> None:
    if not path.exists():
        raise StackError(f"{path} is missing; run: make install")


def classpath(*parts: Path | str) -> str:
    return ":".join(str(p) for p in parts)


def jmx_agent(port: int) -> str:
    """The JVM option that loads the Prometheus JMX exporter's agent: the JVM's own metrics
    and the MBeans that stack/templates/jmx-exporter/config.yml picks, at /metrics on
    BIND_HOST:port. Only the engine's long-running JVM gets it, not a one-off tool (a
    storage format) that would take the same port."""
    need_install(settings.JMX_AGENT)
    return f"-javaagent:{settings.JMX_AGENT}={settings.BIND_HOST}:{port}:{CONF / 'jmx-exporter' / 'config.yml'}"


def output(argv: list) -> str:
    """Runs a first-run step's command; a failure reaches the user with its stderr."""
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, cwd=ROOT).stdout.decode()


# --- kafka -----------------------------------------------------------------------------

def _kafka_java(*main: str, jvm: tuple[str, ...] = ()) -> list[str]:
    need_install(settings.JARS["kafka"])
    return [java(), *jvm, f"-Dlog4j2.configurationFile={CONF / 'kafka' / 'log4j2.properties'}",
            "-cp", f"{settings.JARS['kafka']}/*", *main]


def kafka(node: str, jmx_port: int) -> list[str]:
    return _kafka_java("kafka.Kafka", str(CONF / node / "server.properties"),
                       jvm=("-Xms256m", "-Xmx512m", jmx_agent(jmx_port)))


_CLUSTER_ID_LOCK = threading.Lock()


def kafka_uuid() -> str:
    """What `kafka-storage random-uuid` prints, without a JVM: a random UUID in URL-safe
    base64, unpadded, never starting with '-' (Kafka's Uuid.randomUuid rule, so that no
    command line takes it for an option)."""
    while (u := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()).startswith("-"):
        pass
    return u


def format_kafka(node: str) -> str | None:
    """KRaft storage is formatted once. A single node forms a quorum of itself
    (--standalone); the cluster's nodes share one cluster id and the static voter list of
    their server.properties."""
    if (settings.DATA / node / "meta.properties").exists():
        return None
    id_file = settings.DATA / "kafka-cluster-id"
    with _CLUSTER_ID_LOCK:  # the nodes are formatted side by side, with one id
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(kafka_uuid())
    cluster_id = id_file.read_text()
    quorum = [] if settings.CLUSTER else ["--standalone"]
    output(_kafka_java("kafka.tools.StorageTool", "format", *quorum, "-t", cluster_id,
                       "-c", str(CONF / node / "server.properties")))
    return f"storage formatted (cluster {cluster_id})"


# --- hdfs ------------------------------------------------------------------------------

def _hadoop_java(main: str, heap: str, *jvm: str) -> list[str]:
    need_install(settings.JARS["hadoop"])
    return [java(), f"-Xmx{heap}", *jvm, f"-Dlog4j.configuration=file:{CONF / 'hadoop' / 'log4j.properties'}",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-cp", classpath(CONF / "hadoop", f"{settings.JARS['hadoop']}/*"), main]


def namenode() -> list[str]:
    return _hadoop_java(NAMENODE_MAIN, "512m", jmx_agent(settings.NAMENODE_JMX_PORT))


def format_namenode() -> str | None:
    if (settings.DATA / "hdfs" / "name" / "current").exists():
        return None
    output(_hadoop_java(NAMENODE_MAIN, "256m") + ["-format", "-nonInteractive", "-force"])
    return "formatted"


def datanode(folder: str, xfer: int, http: int, ipc: int, jmx: int) -> list[str]:
    # DataNodes on one host differ only in their folder and ports.
    host = settings.BIND_HOST
    return _hadoop_java(DATANODE_MAIN, "256m", jmx_agent(jmx)) + [
        "-D", f"dfs.datanode.data.dir={settings.DATA / 'hdfs' / folder}", "-D", f"dfs.datanode.address={host}:{xfer}",
        "-D", f"dfs.datanode.http.address={host}:{http}", "-D", f"dfs.datanode.ipc.address={host}:{ipc}"]


# --- hive metastore --------------------------------------------------------------------

def compile_metastore_launcher() -> str | None:
    """Compiles stack/java/BoundMetastore.java against pyspark's Hive jars, when it changed."""
    built = METASTORE_LAUNCHER / "BoundMetastore.class"
    if built.exists() and built.stat().st_mtime >= METASTORE_SRC.stat().st_mtime:
        return None
    METASTORE_LAUNCHER.mkdir(parents=True, exist_ok=True)
    compile_java(METASTORE_SRC, METASTORE_LAUNCHER)
    return "launcher compiled"


def metastore() -> list[str]:
    return [java(), "-Xmx512m", jmx_agent(settings.METASTORE_JMX_PORT),
            # Without this selector the Hive jars' log4j2 asks for the LMAX disruptor.
            "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
            f"-Dlog4j2.configurationFile={CONF / 'hive' / 'log4j2.properties'}",
            f"-Dderby.stream.error.file={settings.DATA / 'metastore' / 'derby.log'}",
            "-cp", classpath(METASTORE_LAUNCHER, CONF / "hive", CONF / "hadoop", f"{pyspark_jars()}/*"),
            "BoundMetastore", settings.BIND_HOST, str(settings.METASTORE_PORT)]


# --- presto ----------------------------------------------------------------------------

def presto(node: str, jmx_port: int) -> list[str]:
    home = settings.PRESTO_HOME
    need_install(home / ".complete")
    jvm = [ln.strip() for ln in (CONF / "presto" / "jvm.config").read_text().splitlines()
           if ln.strip() and not ln.startswith("#")]
    # The agent here, not in jvm.config: the coordinator and a worker share that file, and
    # each serves its metrics on a port of its own.
    return [java(), "-cp", f"{home}/lib/*", *jvm, jmx_agent(jmx_port), f"-Dconfig={CONF / node / 'config.properties'}",
            f"-Dlog.levels-file={CONF / 'presto' / 'log.properties'}", "com.facebook.presto.server.PrestoServer"]


# --- spark standalone (the cluster profile) --------------------------------------------

def _spark_class(main: str) -> list[str]:
    # pyspark's wheel has no sbin/start-*.sh; spark-class runs the daemon in the foreground.
    # The copy inside the package finds its SPARK_HOME (the package) by itself.
    exe = pyspark_jars().parent / "bin" / "spark-class"
    return [str(exe), main, "--host", settings.BIND_HOST]


def spark_master() -> list[str]:
    return _spark_class("org.apache.spark.deploy.master.Master") + [
        "--port", str(settings.SPARK_MASTER_PORT), "--webui-port", str(settings.SPARK_MASTER_UI_PORT)]


def spark_worker(name: str, port: int, ui_port: int) -> list[str]:
    return _spark_class("org.apache.spark.deploy.worker.Worker") + [
        "--port", str(port), "--webui-port", str(ui_port), "--cores", "1", "--memory", "1g",
        "--work-dir", str(settings.DATA / name), settings.SPARK_MASTER]


# --- the pipeline's own services -------------------------------------------------------

def _venv_module(module: str) -> list[str]:
    python = settings.VENV / "bin" / "python"
    need_install(python)
    return [str(python), "-m", module]


def api() -> list[str]:
    return _venv_module("game_events.api.serve")


def create_topic() -> str | None:
    from game_events import topic

    created = topic.create(settings.TOPIC, settings.TOPIC_PARTITIONS, settings.TOPIC_REPLICATION,  # idempotent
                           brokers=[n.node_id for n in settings.KAFKA_NODES])
    return f"topic {settings.TOPIC} created" if created else None


def stream() -> list[str]:
    return [str(ROOT / "bin" / "spark-submit"), str(ROOT / "write_event_stream.py")]


def register_tables() -> str | None:
    """The stream lands parquet under tables that write_hive_table.py registers; it runs
    (a Spark start-up, seconds) only while the metastore lacks one of them."""
    tables = {settings.EVENTS_TABLE, settings.BAD_EVENTS_TABLE}
    if tables <= set(probes.metastore_strings("get_all_tables", "default")):
        return None
    out = output([ROOT / "bin" / "spark-submit", ROOT / "write_hive_table.py"])
    return "registered " + "; ".join(ln for ln in out.splitlines() if ln.startswith("table "))


# --- monitoring ------------------------------------------------------------------------

PROMETHEUS = Path("/usr/bin/prometheus")  # Debian's package


def lag_exporter() -> list[str]:
    return _venv_module("game_events.stream.lag_exporter")


def prometheus() -> list[str]:
    if not PROMETHEUS.exists():
        raise StackError(f"{PROMETHEUS} is missing; install it with: sudo apt-get install -y prometheus")
    need_install(settings.PROMETHEUS_CONSOLE_LIBRARIES)
    conf = CONF / "prometheus"
    return [str(PROMETHEUS), f"--config.file={conf / 'prometheus.yml'}",
            f"--storage.tsdb.path={settings.PROMETHEUS_DATA}",
            f"--storage.tsdb.retention.time={settings.PROMETHEUS_RETENTION}",
            f"--web.listen-address={settings.BIND_HOST}:{settings.PROMETHEUS_PORT}",
            f"--web.console.templates={conf / 'consoles'}",
            f"--web.console.libraries={settings.PROMETHEUS_CONSOLE_LIBRARIES}"]
