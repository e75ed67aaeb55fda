"""The services of the stack, one row each, and the groups they are started in.

A row says how to start the service (commands.py), which port it owns (the name of a
game_events.settings value), how to prove it is ready with a real protocol call
(probes.py), what to prepare before its first start, and how long start-up may take.
Rows are in dependency order: `up` starts them top down, `down` stops them bottom up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
    env: dict = field(default_factory=dict)
    cwd: Path | None = None
    fresh: tuple[Path, ...] = ()  # files each start must write anew

    @property
    def port_number(self) -> int:
        return getattr(settings, self.port_key)


SERVICES = [
    Service("kafka", commands.kafka, probes.kafka, 90, "KAFKA_PORT", first_run=commands.format_kafka),
    Service("namenode", commands.namenode, probes.namenode, 90, "NAMENODE_PORT",
            first_run=commands.format_namenode),
    Service("datanode", commands.datanode, probes.datanode, 90, "DATANODE_PORT"),
    Service("metastore", commands.metastore, probes.metastore, 120, "METASTORE_PORT",
            first_run=commands.compile_metastore_launcher),
    Service("presto", commands.presto, probes.presto, 180, "PRESTO_PORT", cwd=settings.DATA / "presto"),
    Service("api", commands.api, probes.api, 30, "API_PORT", first_run=commands.create_topic, cwd=settings.ROOT),
    Service("stream", commands.stream, probes.stream, 180, "SPARK_UI_PORT", owns_port=False,
            first_run=commands.register_tables, cwd=settings.ROOT, fresh=(probes.STREAM_READY,),
            env={"GAME_EVENTS_READY_FILE": str(probes.STREAM_READY), "STREAM_PROGRESS_FILE": str(STREAM_PROGRESS)}),
]
BY_NAME = {s.name: s for s in SERVICES}
INFRA = ["kafka", "namenode", "datanode", "metastore", "presto"]
APP = ["api", "stream"]  # optional: `status` does not fail when they are down
GROUPS = {
    "infra": INFRA,
    "hdfs": ["namenode", "datanode"],
    "cloudera": ["namenode", "datanode", "metastore"],  # the seed's cloudera container
    "app": APP,
    "pipeline": INFRA + APP,  # everything the event path needs, topic and tables included
    "all": [s.name for s in SERVICES],
}


def expand(names: list[str], default: str = "infra") -> list[Service]:
    """Services and groups named on the command line, as services in dependency order."""
    wanted: set[str] = set()
    for n in names or [default]:
        if n not in GROUPS and n not in BY_NAME:
            raise StackError(f"unknown service {n!r}; known: {', '.join([*BY_NAME, *GROUPS])}")
        wanted.update(GROUPS.get(n, [n]))
    return [s for s in SERVICES if s.name in wanted]


def one(names: list[str]) -> Service:
    services = expand(names)
    if len(names) != 1 or len(services) != 1:
        raise StackError(f"name one service: {', '.join(BY_NAME)}")
    return services[0]
