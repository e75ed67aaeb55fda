"""Runs the pipeline's engines as local processes: Kafka, HDFS, a Hive metastore, Presto,
and, on demand, the game API and the streaming job.

    stackctl.py up [SERVICE|GROUP ...]     start (idempotent) and wait until healthy
    stackctl.py down [SERVICE|GROUP ...]   stop
    stackctl.py status                     table of service, pid, port and health, then the
                                           counters and the stream's lag behind the topic
    stackctl.py run SERVICE|GROUP          run in the foreground, logs to stdout (containers)
    stackctl.py check SERVICE              exit 0 if the service answers its readiness call
    stackctl.py render                     write the config files only
    stackctl.py reset                      stop everything and wipe the data folder
    stackctl.py logs SERVICE               path of a service's log file

Every service is one row of SERVICES: how to start it, which port it owns and how to
prove it is ready with a real protocol call. Configuration comes from the templates in
stack/templates, rendered with SETTINGS; the compose deployment renders the same
templates with other host names.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

STACK = Path(__file__).resolve().parent
ROOT = STACK.parent
VERSIONS = dict(
    line.split("=", 1)
    for line in (STACK / "versions.env").read_text().splitlines()
    if line and not line.startswith("#")
)
CACHE = Path(os.environ.get("GAME_EVENTS_CACHE", Path.home() / ".cache" / "game-events"))
DATA = Path(os.environ.get("STACK_DATA", ROOT / "var")).resolve()
CONF = DATA / "conf"
LOGS = DATA / "logs"
RUN = DATA / "run"
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
JAVA_HOME = Path(os.environ.get("JAVA17_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"))


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


# Host names are the only thing the compose deployment changes (BIND_HOST=0.0.0.0 and
# each *_HOST set to a service name); ports follow the seed where it names one.
SETTINGS = {
    "BIND_HOST": _env("BIND_HOST", "127.0.0.1"),
    "KAFKA_HOST": _env("KAFKA_HOST", "127.0.0.1"),
    "KAFKA_PORT": _env("KAFKA_PORT", "29092"),
    "KAFKA_CONTROLLER_PORT": _env("KAFKA_CONTROLLER_PORT", "29093"),
    "NAMENODE_HOST": _env("NAMENODE_HOST", "127.0.0.1"),
    "NAMENODE_PORT": _env("NAMENODE_PORT", "8020"),
    "NAMENODE_HTTP_PORT": _env("NAMENODE_HTTP_PORT", "9870"),
    "DATANODE_HOST": _env("DATANODE_HOST", "127.0.0.1"),
    "DATANODE_PORT": _env("DATANODE_PORT", "9866"),
    "DATANODE_HTTP_PORT": _env("DATANODE_HTTP_PORT", "9864"),
    "DATANODE_IPC_PORT": _env("DATANODE_IPC_PORT", "9867"),
    "METASTORE_HOST": _env("METASTORE_HOST", "127.0.0.1"),
    "METASTORE_PORT": _env("METASTORE_PORT", "9083"),
    "PRESTO_HOST": _env("PRESTO_HOST", "127.0.0.1"),
    "PRESTO_PORT": _env("PRESTO_PORT", "8080"),
    "API_PORT": _env("API_PORT", "5000"),
    "SPARK_DRIVER_HOST": _env("SPARK_DRIVER_HOST", "127.0.0.1"),
    "KAFKA_LOG_LEVEL": _env("KAFKA_LOG_LEVEL", "info"),
    "HADOOP_LOG_LEVEL": _env("HADOOP_LOG_LEVEL", "INFO"),
    "DATA_DIR": str(DATA),
    "CONF_DIR": str(CONF),
    "PRESTO_HOME": str(CACHE / f"presto-server-{VERSIONS['PRESTO_VERSION']}"),
}

JARS = {
    "kafka": CACHE / "jars" / f"kafka-{VERSIONS['KAFKA_VERSION']}",
    "hadoop": CACHE / "jars" / f"hadoop-{VERSIONS['HADOOP_VERSION']}",
    "spark-kafka": CACHE / "jars" / f"spark-kafka-{VERSIONS['SPARK_VERSION']}",
}
PRESTO_CLI = CACHE / f"presto-cli-{VERSIONS['PRESTO_VERSION']}-executable.jar"
# Readiness probes fail on purpose while a service starts; their client libraries need not
# log each refused connection.
for _quiet in ("thrift", "kafka"):
    logging.getLogger(_quiet).setLevel(logging.CRITICAL)

SETTINGS["SPARK_KAFKA_JARS"] = ",".join(str(p) for p in sorted(JARS["spark-kafka"].glob("*.jar")))


def pyspark_jars() -> Path:
    import pyspark  # the metastore runs on the Hive jars that pyspark ships

    return Path(pyspark.__file__).parent / "jars"


class StackError(Exception):
    """A bad setup, reported as one plain line."""


# --- configuration ---------------------------------------------------------------------

def render() -> None:
    for src in (STACK / "templates").rglob("*"):
        if src.is_file():
            dst = CONF / src.relative_to(STACK / "templates")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(string.Template(src.read_text()).substitute(SETTINGS))


def java() -> str:
    exe = JAVA_HOME / "bin" / "java"
    if not exe.exists():
        raise StackError(f"Java 17 not found at {JAVA_HOME}; install it with: "
                         "sudo apt-get install -y openjdk-17-jdk-headless (or set JAVA17_HOME)")
    return str(exe)


def need_install(path: Path) -> None:
    if not path.exists():
        raise StackError(f"{path} is missing; run: make install")


def cp(*parts: Path | str) -> str:
    return ":".join(str(p) for p in parts)


# --- how to start each service ----------------------------------------------------------

def kafka_cmd() -> list[str]:
    need_install(JARS["kafka"])
    jars = f"{JARS['kafka']}/*"
    props = CONF / "kafka" / "server.properties"
    log4j = f"-Dlog4j2.configurationFile={CONF / 'kafka' / 'log4j2.properties'}"
    if not (DATA / "kafka" / "meta.properties").exists():
        # KRaft storage is formatted once, with a fresh cluster id.
        cluster_id = subprocess.run([java(), log4j, "-cp", jars, "kafka.tools.StorageTool", "random-uuid"],
                                    check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run([java(), log4j, "-cp", jars, "kafka.tools.StorageTool", "format", "--standalone",
                        "-t", cluster_id, "-c", str(props)], check=True, capture_output=True)
    return [java(), "-Xms256m", "-Xmx512m", log4j, "-cp", jars, "kafka.Kafka", str(props)]


def hadoop_java(main: str, heap: str) -> list[str]:
    need_install(JARS["hadoop"])
    return [java(), f"-Xmx{heap}", f"-Dlog4j.configuration=file:{CONF / 'hadoop' / 'log4j.properties'}",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "-cp", cp(CONF / "hadoop", f"{JARS['hadoop']}/*"), main]


def namenode_cmd() -> list[str]:
    if not (DATA / "hdfs" / "name" / "current").exists():
        subprocess.run(hadoop_java("org.apache.hadoop.hdfs.server.namenode.NameNode", "256m")
                       + ["-format", "-nonInteractive", "-force"], check=True, capture_output=True)
    return hadoop_java("org.apache.hadoop.hdfs.server.namenode.NameNode", "512m")


def datanode_cmd() -> list[str]:
    return hadoop_java("org.apache.hadoop.hdfs.server.datanode.DataNode", "256m")


def metastore_launcher() -> Path:
    """Compiles stack/java/BoundMetastore.java against pyspark's Hive jars, once."""
    src = STACK / "java" / "BoundMetastore.java"
    out = DATA / "metastore" / "launcher"
    if not (out / "BoundMetastore.class").exists() or (out / "BoundMetastore.class").stat().st_mtime < src.stat().st_mtime:
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(JAVA_HOME / "bin" / "javac"), "-nowarn", "-cp", f"{pyspark_jars()}/*", "-d", str(out),
                        str(src)], check=True, capture_output=True)
    return out


def metastore_cmd() -> list[str]:
    (DATA / "metastore").mkdir(parents=True, exist_ok=True)
    return [java(), "-Xmx512m",
            # Without this selector the Hive jars' log4j2 asks for the LMAX disruptor.
            "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
            f"-Dlog4j2.configurationFile={CONF / 'hive' / 'log4j2.properties'}",
            f"-Dderby.stream.error.file={DATA / 'metastore' / 'derby.log'}",
            "-cp", cp(metastore_launcher(), CONF / "hive", CONF / "hadoop", f"{pyspark_jars()}/*"),
            "BoundMetastore", SETTINGS["BIND_HOST"], SETTINGS["METASTORE_PORT"]]


def presto_cmd() -> list[str]:
    home = Path(SETTINGS["PRESTO_HOME"])
    need_install(home / ".complete")
    (DATA / "presto").mkdir(parents=True, exist_ok=True)
    jvm = [ln.strip() for ln in (CONF / "presto" / "jvm.config").read_text().splitlines()
           if ln.strip() and not ln.startswith("#")]
    return [java(), "-cp", f"{home}/lib/*", *jvm, f"-Dconfig={CONF / 'presto' / 'config.properties'}",
            f"-Dlog.levels-file={CONF / 'presto' / 'log.properties'}",
            "com.facebook.presto.server.PrestoServer"]


def api_cmd() -> list[str]:
    return [str(VENV / "bin" / "gunicorn"), "--config", str(ROOT / "game_events" / "gunicorn_conf.py"),
            "game_api:app"]


def stream_cmd() -> list[str]:
    return [str(ROOT / "bin" / "spark-submit"), str(ROOT / "write_event_stream.py")]


# --- readiness: a real protocol call for each ------------------------------------------

def http_json(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 5):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def kafka_ready() -> bool:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=f"{SETTINGS['KAFKA_HOST']}:{SETTINGS['KAFKA_PORT']}",
                             request_timeout_ms=3000)
    try:
        return bool(admin.describe_cluster()["brokers"])
    finally:
        admin.close()


def webhdfs(path: str, op: str = "LISTSTATUS", raw: bool = False):
    host, port = SETTINGS["NAMENODE_HOST"], SETTINGS["NAMENODE_HTTP_PORT"]
    url = f"http://{host}:{port}/webhdfs/v1{path}?op={op}&user.name=root"
    if raw:  # OPEN redirects to the DataNode, which urllib follows
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read()
    return http_json(url)


def namenode_ready() -> bool:
    return "FileStatuses" in webhdfs("/")


def datanode_ready() -> bool:
    host, port = SETTINGS["NAMENODE_HOST"], SETTINGS["NAMENODE_HTTP_PORT"]
    dn = http_json(f"http://{SETTINGS['DATANODE_HOST']}:{SETTINGS['DATANODE_HTTP_PORT']}"
                   "/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo")["beans"]
    # The DataNode's own view first: the NameNode still counts a killed DataNode as live
    # for minutes, so its count alone would call a restarting one ready.
    actors = json.loads(dn[0]["BPServiceActorInfo"]) if dn else []
    if not any(a.get("ActorState") == "RUNNING" and a.get("BlockPoolID") for a in actors):
        return False
    beans = http_json(f"http://{host}:{port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")["beans"]
    info = http_json(f"http://{host}:{port}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo")["beans"]
    # Writable only once the DataNode has registered and the NameNode left safe mode.
    return beans[0]["NumLiveDataNodes"] >= 1 and not info[0]["Safemode"]


def metastore_ready() -> bool:
    """Calls ThriftHiveMetastore.get_all_databases() and expects 'default' back."""
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TMessageType, TType
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket(SETTINGS["METASTORE_HOST"], int(SETTINGS["METASTORE_PORT"]))
    sock.setTimeout(5000)
    transport = TTransport.TBufferedTransport(sock)
    proto = TBinaryProtocol.TBinaryProtocol(transport)
    transport.open()
    try:
        proto.writeMessageBegin("get_all_databases", TMessageType.CALL, 1)
        proto.writeStructBegin("get_all_databases_args")
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        transport.flush()
        _, mtype, _ = proto.readMessageBegin()
        if mtype != TMessageType.REPLY:
            return False
        proto.readStructBegin()
        _, ftype, fid = proto.readFieldBegin()
        if fid != 0 or ftype != TType.LIST:
            return False
        _, size = proto.readListBegin()
        names = [proto.readString() for _ in range(size)]
        return "default" in names
    finally:
        transport.close()


def presto_query(sql: str, timeout: float = 60) -> list[list]:
    """Runs one statement over Presto's HTTP protocol and returns all rows."""
    base = f"http://{SETTINGS['PRESTO_HOST']}:{SETTINGS['PRESTO_PORT']}"
    headers = {"X-Presto-User": "stackctl", "X-Presto-Catalog": "hive", "X-Presto-Schema": "default"}
    resp = http_json(f"{base}/v1/statement", data=sql.encode(), headers=headers)
    rows, deadline = [], time.monotonic() + timeout
    while True:
        if "error" in resp:
            raise RuntimeError(resp["error"].get("message"))
        rows += resp.get("data", [])
        if "nextUri" not in resp:
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(sql)
        resp = http_json(resp["nextUri"], headers=headers)


def presto_ready() -> bool:
    return presto_query("select 1", timeout=10) == [[1]]


def api_ready() -> bool:
    return http_json(f"http://127.0.0.1:{SETTINGS['API_PORT']}/health").get("status") == "ok"


def stream_ready() -> bool:
    # The job writes this once its streaming query is running (see game_events/stream.py).
    return (DATA / "run" / "stream.started").exists()


@dataclass
class Service:
    name: str
    command: Callable[[], list[str]]
    port_key: str
    ready: Callable[[], bool]
    timeout: int  # seconds to become ready
    env: dict = field(default_factory=dict)
    cwd: Path | None = None


SERVICES = [
    Service("kafka", kafka_cmd, "KAFKA_PORT", kafka_ready, 90),
    Service("namenode", namenode_cmd, "NAMENODE_PORT", namenode_ready, 90),
    Service("datanode", datanode_cmd, "DATANODE_PORT", datanode_ready, 90),
    Service("metastore", metastore_cmd, "METASTORE_PORT", metastore_ready, 120),
    Service("presto", presto_cmd, "PRESTO_PORT", presto_ready, 180, cwd=DATA / "presto"),
    Service("api", api_cmd, "API_PORT", api_ready, 30, cwd=ROOT),
    Service("stream", stream_cmd, "", stream_ready, 180, cwd=ROOT,
            env={"GAME_EVENTS_READY_FILE": str(RUN / "stream.started"),
                 "STREAM_PROGRESS_FILE": str(RUN / "stream-progress.json")}),
]
BY_NAME = {s.name: s for s in SERVICES}
GROUPS = {
    "infra": ["kafka", "namenode", "datanode", "metastore", "presto"],
    "hdfs": ["namenode", "datanode"],
    "cloudera": ["namenode", "datanode", "metastore"],
    "app": ["api", "stream"],
    "all": [s.name for s in SERVICES],
}


def expand(names: list[str], default: str = "infra") -> list[Service]:
    wanted: list[str] = []
    for n in names or [default]:
        if n not in GROUPS and n not in BY_NAME:
            raise StackError(f"unknown service {n!r}; known: {', '.join([*BY_NAME, *GROUPS])}")
        for m in GROUPS.get(n, [n]):
            if m not in wanted:
                wanted.append(m)
    return [s for s in SERVICES if s.name in wanted]  # dependency order


# --- processes ---------------------------------------------------------------------------

def pidfile(svc: Service) -> Path:
    return RUN / f"{svc.name}.pid"


def logfile(svc: Service) -> Path:
    return LOGS / f"{svc.name}.log"


def running_pid(svc: Service) -> int | None:
    """The service's pid if it is alive; a stale pid file (process gone, or the pid reused
    by another program) is removed."""
    pf = pidfile(svc)
    try:
        pid = int(pf.read_text())
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except (OSError, ValueError):
        pf.unlink(missing_ok=True)
        return None
    if f"GAME_EVENTS_SERVICE={svc.name}".encode() not in environ.split(b"\0"):
        pf.unlink(missing_ok=True)
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "X"
    if state in ("Z", "X"):
        pf.unlink(missing_ok=True)
        return None
    return pid


def port_free(port: str) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((SETTINGS["BIND_HOST"], int(port)))
            return True
        except OSError:
            return False


def probe(svc: Service) -> str | None:
    """None when the service answers its readiness call, else why not."""
    try:
        return None if svc.ready() else "not ready yet"
    except Exception as e:  # any failure of the probe means "not ready", with its reason
        return f"{type(e).__name__}: {e}"[:200]


def healthy(svc: Service) -> bool:
    return probe(svc) is None


def service_env(svc: Service) -> dict:
    # GAME_EVENTS_SERVICE marks the process as ours, for stale pid detection.
    return {**os.environ, **svc.env, "GAME_EVENTS_SERVICE": svc.name, "JAVA_HOME": str(JAVA_HOME),
            "SPARK_CONF_DIR": str(CONF / "spark"), "STACK_DATA": str(DATA)}


def start(svc: Service) -> None:
    pid, proc = running_pid(svc), None
    if pid is None:
        if svc.port_key and not port_free(SETTINGS[svc.port_key]):
            raise StackError(f"port {SETTINGS[svc.port_key]} ({svc.port_key}) for {svc.name} is already "
                             "in use by another process; stop it or set "
                             f"{svc.port_key} to a free port")
        LOGS.mkdir(parents=True, exist_ok=True)
        RUN.mkdir(parents=True, exist_ok=True)
        if svc.name == "stream":
            (RUN / "stream.started").unlink(missing_ok=True)
        env = service_env(svc)
        if svc.cwd:
            svc.cwd.mkdir(parents=True, exist_ok=True)
        try:
            argv = svc.command()
        except subprocess.CalledProcessError as e:
            raise StackError(f"{svc.name}: first-start step failed: {' '.join(e.cmd[-4:])}\n"
                             f"{(e.stderr or b'').decode(errors='replace')[-2000:]}")
        with open(logfile(svc), "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {svc.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=svc.cwd, env=env, start_new_session=True)
        pidfile(svc).write_text(str(proc.pid))
        pid = proc.pid
        print(f"  {svc.name:<10} started (pid {pid})", flush=True)
    t0 = time.monotonic()
    while (why := probe(svc)) is not None:
        # Our own child is watched with poll(): until it has exec'd, /proc still shows
        # this process's environment, which running_pid() would take for a stale pid.
        if (proc.poll() is not None) if proc else running_pid(svc) is None:
            raise StackError(f"{svc.name} exited during start-up; see its log: {logfile(svc)}")
        if time.monotonic() - t0 > svc.timeout:
            raise StackError(f"{svc.name} was not ready within {svc.timeout}s ({why}); "
                             f"see its log: {logfile(svc)}")
        time.sleep(0.5)
    print(f"  {svc.name:<10} healthy (pid {pid}, {time.monotonic() - t0:.1f}s)", flush=True)


def stop(svc: Service, timeout: float = 30) -> None:
    pid = running_pid(svc)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(svc) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid(svc) is not None:
        os.killpg(pid, signal.SIGKILL)
    pidfile(svc).unlink(missing_ok=True)
    print(f"  {svc.name:<10} stopped", flush=True)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (a JVM under a launcher script)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            # A JVM starts children from any of its threads, so read every thread's list.
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return total / 1024


def status(names: list[str]) -> int:
    rows, all_ok = [], True
    for svc in expand(names, default="all"):
        pid = running_pid(svc)
        port = SETTINGS.get(svc.port_key, "-") if svc.port_key else "4040"
        if pid is None:
            health, mem = "down", "-"
            all_ok &= svc.name in GROUPS["app"]  # the app services are optional
        else:
            health = "healthy" if healthy(svc) else "unhealthy"
            all_ok &= health == "healthy"
            mem = f"{rss_mib(pid):.0f}"
        rows.append((svc.name, str(pid or "-"), port, health, mem))
    print(f"{'SERVICE':<10} {'PID':>7} {'PORT':>6}  {'HEALTH':<9} {'RSS_MiB':>7}")
    for r in rows:
        print(f"{r[0]:<10} {r[1]:>7} {r[2]:>6}  {r[3]:<9} {r[4]:>7}")
    print()
    for line in counters():
        print(line)
    return 0 if all_ok else 1


# --- counters: what the API and the stream have done, and how far the stream lags -------

def stream_lag() -> dict:
    """Per partition: the topic's end offset, the offset up to which the stream has
    committed batches (read from its checkpoint in HDFS, so this works while the job is
    down), and the difference."""
    from kafka import KafkaConsumer, TopicPartition

    from game_events import config

    committed: dict[int, int] = {}
    try:
        names = [s["pathSuffix"] for s in webhdfs(f"{config.CHECKPOINT_PATH}/commits")["FileStatuses"]["FileStatus"]]
        done = max((int(n) for n in names if n.isdigit()), default=None)
    except urllib.error.HTTPError:  # no checkpoint yet: nothing committed
        done = None
    if done is not None:
        last = webhdfs(f"{config.CHECKPOINT_PATH}/offsets/{done}", op="OPEN", raw=True).decode().splitlines()[-1]
        committed = {int(p): o for p, o in json.loads(last).get(config.TOPIC, {}).items()}
    consumer = KafkaConsumer(bootstrap_servers=config.KAFKA_BOOTSTRAP, request_timeout_ms=5000)
    try:
        parts = consumer.partitions_for_topic(config.TOPIC) or set()
        ends = consumer.end_offsets([TopicPartition(config.TOPIC, p) for p in parts]) if parts else {}
    finally:
        consumer.close()
    return {tp.partition: {"end": end, "committed": committed.get(tp.partition, 0),
                           "lag": end - committed.get(tp.partition, 0)} for tp, end in sorted(ends.items())}


def counters() -> list[str]:
    """Lines for `status`: each counter, or why it cannot be read."""
    from game_events import config

    lines = []
    try:
        h = http_json(f"http://127.0.0.1:{SETTINGS['API_PORT']}/health")
    except urllib.error.HTTPError as e:  # 503: degraded, with the same body
        h = json.loads(e.read() or b"{}")
    except OSError:
        h = None
    if h:
        c = h["counters"]
        lines.append(f"api     accepted {c['accepted']}, rejected {c['rejected']}, 503 {c['unavailable']}; "
                     f"kafka {h['kafka']}")
    else:
        lines.append("api     not running")
    progress = RUN / "stream-progress.json"
    if running_pid(BY_NAME["stream"]) and progress.exists():
        p = json.loads(progress.read_text())
        lines.append(f"stream  {p['batches']} batches, landed {p['landed']}, quarantined {p['quarantined']}, "
                     f"restarts {p['restarts']} since the job started (last update {p['time']})")
    else:
        lines.append("stream  not running, or no batch yet")
    try:
        for part, o in stream_lag().items():
            lines.append(f"lag     topic {config.TOPIC} partition {part}: end offset {o['end']}, stream committed "
                         f"{o['committed']}, {o['lag']} records behind")
    except Exception as e:  # Kafka or HDFS down: say so, the table above shows which
        lines.append(f"lag     unknown ({type(e).__name__}: {str(e)[:120]})")
    return lines


def run_foreground(services: list[Service]) -> int:
    """One container's services (cloudera holds three): start them in order, each ready
    before the next, with their logs on stdout; stop all when one dies or on SIGTERM."""
    procs = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for svc in services:
            env = service_env(svc)
            if svc.cwd:
                svc.cwd.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(svc.command(), cwd=svc.cwd, env=env, stdin=subprocess.DEVNULL)
            procs.append(proc)
            RUN.mkdir(parents=True, exist_ok=True)
            pidfile(svc).write_text(str(proc.pid))
            t0 = time.monotonic()
            while (why := probe(svc)) is not None:
                if proc.poll() is not None:
                    raise StackError(f"{svc.name} exited during start-up ({proc.returncode})")
                if time.monotonic() - t0 > svc.timeout:
                    raise StackError(f"{svc.name} was not ready within {svc.timeout}s ({why})")
                time.sleep(0.5)
            print(f"stackctl: {svc.name} healthy", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        return 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "render":
            render()
        elif cmd == "up":
            render()
            t0 = time.monotonic()
            for svc in expand(args):
                start(svc)
            print(f"up: ready in {time.monotonic() - t0:.1f}s", flush=True)
        elif cmd == "down":
            for svc in reversed(expand(args, default="all")):
                stop(svc)
        elif cmd == "status":
            return status(args)
        elif cmd == "run":
            render()
            return run_foreground(expand(args))
        elif cmd == "check":
            (svc,) = expand(args)
            why = probe(svc)
            if why:
                print(f"{svc.name}: {why}", file=sys.stderr)
            return 0 if why is None else 1
        elif cmd == "logs":
            (svc,) = expand(args)
            print(logfile(svc))
        elif cmd == "reset":
            for svc in reversed(SERVICES):
                stop(svc)
            shutil.rmtree(DATA, ignore_errors=True)
            print(f"reset: removed {DATA}")
        else:
            print(__doc__)
            return 2
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
