"""The kinds of node a profile runs, with their ports as numbers. Which nodes each
profile has is in game_events.settings (KAFKA_NODES, DATANODES, PRESTO_NODES,
SPARK_WORKERS), beside the engine's other values; the launcher makes a service of each."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KafkaNode:
    """A Kafka node: broker and KRaft controller at once."""
    service: str
    node_id: int
    port: int
    controller_port: int
    jmx_port: int  # the JMX exporter agent's /metrics


@dataclass(frozen=True)
class DataNode:
    service: str
    folder: str  # its storage, under the profile's data folder's hdfs/
    port: int  # block transfer: the NameNode lists the node by it
    http_port: int
    ipc_port: int
    jmx_port: int  # the JMX exporter agent's /metrics


@dataclass(frozen=True)
class PrestoNode:
    service: str
    node_id: str
    port: int  # HTTP
    coordinator: bool
    jmx_port: int  # the JMX exporter agent's /metrics


@dataclass(frozen=True)
class SparkWorker:
    """A Spark standalone worker, one core."""
    service: str
    port: int  # RPC
    ui_port: int
