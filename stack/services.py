"""The services of the stack, one row each, and the groups they are started in.

A row says how to start the service (commands.py), which port it owns (the name of a
game_events.settings value), how to prove it is ready with a real protocol call
(probes.py), what to prepare before its first start, and how long start-up may take.
Rows are in dependency order: `up` starts them top down, `down` stops them bottom up.

The rows are those of the profile in use (settings.PROFILE): one node per engine in the
local profile; in the cluster profile three Kafka nodes, two DataNodes, a Spark
standalone master with two workers and a Presto worker, from the node tables of
game_events.settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from game_events import settings
from stack import StackError, commands, probes

# Where the streaming job writes its counters after each batch, for `status`.
STREAM_PROGRESS = settings.RUN / "stream-progress.json"


@dataclass(frozen=True)
class Service:
    name: str
    command: Callable[[], list[str]]
    ready: Callable[[], bool]
    timeout: int  # seconds to become ready
    port_key: str  # name of its port in game_events.settings
    # False when the program moves to another port rather than fail (Spark's UI).
    owns_port: bool = True
    first_run: Callable[[], str | None] | None = None
    # What `up` waits for before the next row, when that is less than `ready`: a quorum
    # member cannot answer until the next members run.
    start_ready: Callable[[], bool] | None = None
    env: dict = field(default_factory=dict)
    cwd: Path | None = None
    fresh: tuple[Path, ...] = ()  # files each start must write anew
    # Templates rendered for this service alone, into CONF/<name>/, with `conf` added to
    # settings.template_values().
    templates: tuple[str, ...] = ()
    conf: dict = field(default_factory=dict)

    @property
    def port_number(self) -> int:
        return getattr(settings, self.port_key)


def kafka_nodes() -> list[Service]:
    last = len(settings.KAFKA_NODES)
    port = settings.port
    return [Service(name, partial(commands.kafka, name), partial(probes.kafka, node, port(key)), 90, key,
                    first_run=partial(commands.format_kafka, name),
                    # Every voter but the last is waited for only until it listens.
                    start_ready=None if node == last else partial(probes.listening, port(ckey)),
                    templates=("kafka/server.properties",),
                    conf={"NODE_ID": node, "NODE_NAME": name, "NODE_PORT": port(key),
                          "NODE_CONTROLLER_PORT": port(ckey)})
            for name, node, key, ckey in settings.KAFKA_NODES]


def datanodes() -> list[Service]:
    port = settings.port
    return [Service(name, partial(commands.datanode, folder, port(xfer), port(http), port(ipc)),
                    partial(probes.datanode, port(xfer), port(http)), 90, xfer)
            for name, folder, xfer, http, ipc in settings.DATANODES]


def spark_nodes() -> list[Service]:
    if not settings.SPARK_WORKERS:
        return []
    env = {"SPARK_DAEMON_MEMORY": "256m", "SPARK_LOCAL_IP": settings.BIND_HOST,
           "HADOOP_CONF_DIR": str(settings.CONF / "hadoop")}
    return [Service("spark-master", commands.spark_master, probes.spark_master, 60, "SPARK_MASTER_PORT", env=env),
            *(Service(name, partial(commands.spark_worker, name, settings.port(key), settings.port(ui)),
                      partial(probes.spark_worker, settings.port(ui)), 60, key, env=env, cwd=settings.DATA / name)
              for name, key, ui in settings.SPARK_WORKERS)]


def presto_nodes() -> list[Service]:
    # A coordinator that schedules no work on itself answers queries only once a worker
    # has registered: `up` waits for it to have started, and the worker's probe for both.
    coordinator_start = None if settings.PRESTO_INCLUDE_COORDINATOR == "true" else probes.presto_started
    return [Service(name, partial(commands.presto, name), partial(probes.presto, node_id), 180, key,
                    start_ready=coordinator_start if coordinator == "true" else None,
                    cwd=settings.DATA / name, templates=("presto/config.properties",),
                    conf={"NODE_ID": node_id, "NODE_PORT": settings.port(key), "NODE_COORDINATOR": coordinator,
                          # A worker refuses to start with this key at all.
                          "NODE_DISCOVERY_SERVER": "discovery-server.enabled=true" if coordinator == "true" else ""})
            for name, node_id, key, coordinator in settings.PRESTO_NODES]


SERVICES = [
    *kafka_nodes(),
    Service("namenode", commands.namenode, probes.namenode, 90, "NAMENODE_PORT",
            first_run=commands.format_namenode),
    *datanodes(),
    Service("metastore", commands.metastore, probes.metastore, 120, "METASTORE_PORT",
            first_run=commands.compile_metastore_launcher),
    *spark_nodes(),
    *presto_nodes(),
    Service("api", commands.api, probes.api, 30, "API_PORT", first_run=commands.create_topic, cwd=settings.ROOT),
    Service("stream", commands.stream, probes.stream, 180, "SPARK_UI_PORT", owns_port=False,
            first_run=commands.register_tables, cwd=settings.ROOT, fresh=(probes.STREAM_READY,),
            env={"GAME_EVENTS_READY_FILE": str(probes.STREAM_READY), "STREAM_PROGRESS_FILE": str(STREAM_PROGRESS)}),
]
BY_NAME = {s.name: s for s in SERVICES}
APP = ["api", "stream"]  # optional: `status` does not fail when they are down
INFRA = [s.name for s in SERVICES if s.name not in APP]


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


def one(names: list[str]) -> Service:
    services = expand(names)
    if len(names) != 1 or len(services) != 1:
        raise StackError(f"name one service: {', '.join(BY_NAME)}")
    return services[0]
