"""The services of the stack, one row each, and the groups they are started in.

A row says how to start the service (commands.py), which port it owns, how to prove it
is ready with a real protocol call (probes.py), what to prepare before its first start,
how long start-up may take, and which services it needs ready first. `up` starts every
row at once but for those needs, so independent engines start side by side; `down`
stops them bottom up.

The rows are those of the profile in use (settings.PROFILE): one node per engine in the
local profile; in the cluster profile three Kafka nodes, two DataNodes, a Spark
standalone master with two workers and a Presto worker, from the profile's nodes in
game_events.settings (their kinds in game_events.topology).

A row's `metrics` are the endpoints where it serves Prometheus' text format: the stack's
Prometheus scrapes exactly these (stack/render.py writes them as its targets), so giving
a row a metrics endpoint is all it takes to monitor it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from game_events import settings
from stack import StackError, commands, probes

# Where the streaming job writes its counters after each batch, for `status`.
STREAM_PROGRESS = settings.RUN / "stream-progress.json"


@dataclass(frozen=True)
class Metrics:
    """An endpoint that serves Prometheus' text format."""
    job: str  # the kind of node: Prometheus' job label
    host: str  # where Prometheus reaches it
    port: int
    path: str = "/metrics"


@dataclass(frozen=True)
class Service:
    name: str
    command: Callable[[], list[str]]
    ready: Callable[[], bool]
    timeout: int  # seconds to become ready
    port: int
    # False when the program moves to another port rather than fail (Spark's UI).
    owns_port: bool = True
    first_run: Callable[[], str | None] | None = None
    # What `up` waits for before the next row, when that is less than `ready`: a quorum
    # member cannot answer until the next members run.
    start_ready: Callable[[], bool] | None = None
    # Services (names or name prefixes, as GROUPS' rows are built) that must be ready
    # before this one starts, when the same `up` starts them.
    needs: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    cwd: Path | None = None
    fresh: tuple[Path, ...] = ()  # files each start must write anew
    # Templates rendered for this service alone, into CONF/<name>/, with `conf` added to
    # render.template_values().
    templates: tuple[str, ...] = ()
    conf: dict = field(default_factory=dict)
    metrics: tuple[Metrics, ...] = ()
    # The port of the JMX exporter agent its JVM loads (0: none): taken, the JVM cannot start.
    agent_port: int = 0


def jmx(job: str, host: str, port: int) -> dict:
    """The fields of a row whose JVM loads the JMX exporter agent on `port`
    (commands.jmx_agent): Prometheus scrapes it there, reached at `host`."""
    return {"metrics": (Metrics(job, host, port),), "agent_port": port}


def kafka_nodes() -> list[Service]:
    last = settings.KAFKA_NODES[-1]
    return [Service(n.service, partial(commands.kafka, n.service, n.jmx_port), partial(probes.kafka, n.node_id, n.port),
                    90, n.port,
                    first_run=partial(commands.format_kafka, n.service),
                    # Every voter but the last is waited for only until it listens.
                    start_ready=None if n == last else partial(probes.listening, n.controller_port),
                    templates=("kafka/server.properties",),
                    conf={"NODE_ID": n.node_id, "NODE_NAME": n.service, "NODE_PORT": n.port,
                          "NODE_CONTROLLER_PORT": n.controller_port},
                    **jmx("kafka", settings.KAFKA_HOST, n.jmx_port))
            for n in settings.KAFKA_NODES]


def datanodes() -> list[Service]:
    return [Service(n.service, partial(commands.datanode, n.folder, n.port, n.http_port, n.ipc_port, n.jmx_port),
                    partial(probes.datanode, n.port, n.http_port), 90, n.port, needs=("namenode",),
                    **jmx("datanode", settings.DATANODE_HOST, n.jmx_port))
            for n in settings.DATANODES]


def spark_nodes() -> list[Service]:
    if not settings.SPARK_WORKERS:
        return []
    env = {"SPARK_DAEMON_MEMORY": "256m", "SPARK_LOCAL_IP": settings.BIND_HOST,
           "HADOOP_CONF_DIR": str(settings.CONF / "hadoop")}
    # Spark's PrometheusServlet sink on each daemon's web UI (game_events.spark.spark_conf).
    host = settings.reachable(settings.BIND_HOST)
    return [Service("spark-master", commands.spark_master, probes.spark_master, 60, settings.SPARK_MASTER_PORT, env=env,
                    metrics=(Metrics("spark-master", host, settings.SPARK_MASTER_UI_PORT, "/metrics/master/prometheus"),)),
            *(Service(w.service, partial(commands.spark_worker, w.service, w.port, w.ui_port),
                      partial(probes.spark_worker, w.ui_port), 60, w.port, env=env, cwd=settings.DATA / w.service,
                      needs=("spark-master",),
                      metrics=(Metrics("spark-worker", host, w.ui_port, "/metrics/prometheus"),))
              for w in settings.SPARK_WORKERS)]


def api_metrics() -> tuple[Metrics, ...]:
    """/metrics on the API's own port, or on API_METRICS_PORT alone."""
    if not settings.API_METRICS:
        return ()
    if settings.API_METRICS_PORT:
        return (Metrics("api", settings.reachable(settings.API_METRICS_HOST), settings.API_METRICS_PORT),)
    url = urlsplit(settings.API_URL)
    return (Metrics("api", url.hostname, url.port or 80),)


# The driver's web UI: its own metrics (the PrometheusServlet sink) and its executors'
# (spark.ui.prometheus.enabled, on by default since Spark 4.0).
# The job's own counters (game_events/stream/metrics.py), on STREAM_METRICS_PORT unless 0.
STREAM_METRICS = (Metrics("spark-driver", settings.SPARK_DRIVER_HOST, settings.SPARK_UI_PORT, "/metrics/prometheus"),
                  Metrics("spark-executors", settings.SPARK_DRIVER_HOST, settings.SPARK_UI_PORT,
                          "/metrics/executors/prometheus"),
                  *((Metrics("stream", settings.SPARK_DRIVER_HOST, settings.STREAM_METRICS_PORT),)
                    if settings.STREAM_METRICS_PORT else ()))


def presto_nodes() -> list[Service]:
    # A coordinator that schedules no work on itself answers queries only once a worker
    # has registered: `up` waits for it to have started, and the worker's probe for both.
    coordinator_start = None if settings.PRESTO_INCLUDE_COORDINATOR == "true" else probes.presto_started
    return [Service(n.service, partial(commands.presto, n.service, n.jmx_port), partial(probes.presto, n.node_id), 180,
                    n.port,
                    start_ready=coordinator_start if n.coordinator else None,
                    cwd=settings.DATA / n.service, templates=("presto/config.properties",),
                    conf={"NODE_ID": n.node_id, "NODE_PORT": n.port, "NODE_COORDINATOR": str(n.coordinator).lower(),
                          # A worker refuses to start with this key at all.
                          "NODE_DISCOVERY_SERVER": "discovery-server.enabled=true" if n.coordinator else ""},
                    **jmx("presto", settings.PRESTO_HOST, n.jmx_port))
            for n in settings.PRESTO_NODES]


SERVICES = [
    *kafka_nodes(),
    Service("namenode", commands.namenode, probes.namenode, 90, settings.NAMENODE_PORT,
            first_run=commands.format_namenode,
            **jmx("namenode", settings.NAMENODE_HOST, settings.NAMENODE_JMX_PORT)),
    *datanodes(),
    # It needs no HDFS to start: the default database's folder is only named, not made.
    Service("metastore", commands.metastore, probes.metastore, 120, settings.METASTORE_PORT,
            first_run=commands.compile_metastore_launcher,
            **jmx("metastore", settings.METASTORE_HOST, settings.METASTORE_JMX_PORT)),
    *spark_nodes(),
    *presto_nodes(),
    Service("api", commands.api, probes.api, 30, settings.API_PORT, first_run=commands.create_topic, cwd=settings.ROOT,
            needs=("kafka",), metrics=api_metrics()),
    # Presto is not needed: the stream registers its tables in the metastore directly.
    Service("stream", commands.stream, probes.stream, 180, settings.SPARK_UI_PORT, owns_port=False,
            first_run=commands.register_tables, cwd=settings.ROOT, fresh=(probes.STREAM_READY,),
            needs=("kafka", "namenode", "datanode", "metastore", "spark-"),
            env={"GAME_EVENTS_READY_FILE": str(probes.STREAM_READY), "STREAM_PROGRESS_FILE": str(STREAM_PROGRESS)},
            metrics=STREAM_METRICS),
    # The stream's lag, served while the stream is down; it reads Kafka and the checkpoint in HDFS.
    Service("lag-exporter", commands.lag_exporter, probes.lag_exporter, 30, settings.LAG_EXPORTER_PORT,
            cwd=settings.ROOT, needs=("kafka", "namenode", "datanode"),
            metrics=(Metrics("lag-exporter", settings.LAG_EXPORTER_HOST, settings.LAG_EXPORTER_PORT),)),
    # It scrapes whatever runs, so it needs nothing first.
    Service("prometheus", commands.prometheus, probes.prometheus, 60, settings.PROMETHEUS_PORT,
            metrics=(Metrics("prometheus", settings.reachable(settings.BIND_HOST), settings.PROMETHEUS_PORT),)),
]
BY_NAME = {s.name: s for s in SERVICES}
APP = ["api", "stream"]
MONITORING = ["lag-exporter", "prometheus"]  # in `all` alone
OPTIONAL = APP + MONITORING  # `status` does not fail when they are down
INFRA = [s.name for s in SERVICES if s.name not in OPTIONAL]


def _named(*prefixes: str) -> list[str]:
    return [s.name for s in SERVICES if s.name.startswith(prefixes)]


GROUPS = {
    "infra": INFRA,
    "kafka": _named("kafka"),
    "hdfs": _named("namenode", "datanode"),
    "cloudera": _named("namenode", "datanode", "metastore"),  # the seed's cloudera container
    "spark": _named("spark-"),
    "presto": _named("presto"),
    "app": APP,
    "monitoring": MONITORING,
    "pipeline": INFRA + APP,  # everything the event path needs, topic and tables included
    "all": [s.name for s in SERVICES],
}


def expand(names: list[str], default: str = "infra") -> list[Service]:
    """Services and groups named on the command line, as services in dependency order."""
    wanted: set[str] = set()
    for n in names or [default]:
        if n not in GROUPS and n not in BY_NAME:
            raise StackError(f"unknown service {n!r} in the {settings.PROFILE} profile; "
                             f"known: {', '.join([*BY_NAME, *GROUPS])}")
        wanted.update(GROUPS[n] if n in GROUPS and n not in BY_NAME else [n])
    return [s for s in SERVICES if s.name in wanted]


def needs(services: list[Service]) -> dict[str, list[str]]:
    """For each service, the services among `services` that must be ready before it starts."""
    names = [s.name for s in services]
    return {s.name: [n for n in names if n != s.name and n.startswith(s.needs)] if s.needs else [] for s in services}


def one(names: list[str]) -> Service:
    services = expand(names)
    if len(names) != 1 or len(services) != 1:
        raise StackError(f"name one service: {', '.join(BY_NAME)}")
    return services[0]
