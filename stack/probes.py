"""Readiness: one real protocol call per service, through the package's clients where it
has one. A probe returns True when the service is ready; False or any exception means
not yet (processes.probe turns the exception into the reason it shows)."""
from __future__ import annotations

import json
import socket
import urllib.request

from game_events import settings

# The streaming job touches this once its query runs (GAME_EVENTS_READY_FILE).
STREAM_READY = settings.RUN / "stream.started"


def http_json(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def kafka(node_id: int, port: int) -> bool:
    from game_events import topic

    # A metadata call to the node's own client port: ready once it is a registered,
    # unfenced broker, which in the cluster needs a quorum of the controllers.
    return node_id in topic.brokers(f"{settings.KAFKA_HOST}:{port}", timeout_s=3)


def listening(port: int) -> bool:
    with socket.create_connection((settings.KAFKA_HOST, port), timeout=2):
        return True


def namenode() -> bool:
    from game_events.storage.webhdfs import WebHdfs

    WebHdfs(timeout=5).list("/")  # raises until the NameNode serves WebHDFS
    return True


def jmx(base: str, name: str) -> list[dict]:
    return http_json(f"{base}/jmx?qry=Hadoop:{name}")["beans"]


def datanode(xfer_port: int, http_port: int) -> bool:
    dn = jmx(f"http://{settings.DATANODE_HOST}:{http_port}", "service=DataNode,name=DataNodeInfo")
    # The DataNode's own view first: the NameNode still counts a killed DataNode as live
    # for minutes, so its list alone would call a restarting one ready.
    actors = json.loads(dn[0]["BPServiceActorInfo"]) if dn else []
    if not any(a.get("ActorState") == "RUNNING" and a.get("BlockPoolID") for a in actors):
        return False
    info = jmx(settings.WEBHDFS, "service=NameNode,name=NameNodeInfo")[0]
    # Writable only once the DataNode has registered and the NameNode left safe mode.
    return f"{settings.DATANODE_HOST}:{xfer_port}" in json.loads(info["LiveNodes"]) and not info["Safemode"]


def metastore_strings(method: str, *args: str) -> list[str]:
    """One ThriftHiveMetastore call whose arguments are strings (fields 1, 2, ...) and whose
    result is a list of strings: get_all_databases(), get_all_tables(db)."""
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TMessageType, TType
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket(settings.METASTORE_HOST, settings.METASTORE_PORT)
    sock.setTimeout(5000)
    transport = TTransport.TBufferedTransport(sock)
    proto = TBinaryProtocol.TBinaryProtocol(transport)
    transport.open()
    try:
        proto.writeMessageBegin(method, TMessageType.CALL, 1)
        proto.writeStructBegin(f"{method}_args")
        for field_id, value in enumerate(args, 1):
            proto.writeFieldBegin(f"arg{field_id}", TType.STRING, field_id)
            proto.writeString(value)
            proto.writeFieldEnd()
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        transport.flush()
        _, mtype, _ = proto.readMessageBegin()
        proto.readStructBegin()
        _, ftype, fid = proto.readFieldBegin()
        # Field 0 is the result; any other is the exception the call raised.
        if mtype != TMessageType.REPLY or fid != 0 or ftype != TType.LIST:
            raise RuntimeError(f"metastore {method}() failed")
        _, size = proto.readListBegin()
        return [proto.readString() for _ in range(size)]
    finally:
        transport.close()


def metastore() -> bool:
    return "default" in metastore_strings("get_all_databases")


def presto_started() -> bool:
    return http_json(f"{settings.PRESTO_URL}/v1/info")["starting"] is False


def presto(node_id: str) -> bool:
    from game_events import presto

    # The node is active in the coordinator's view, and a query runs.
    return presto.scalar(f"select count(*) from system.runtime.nodes where node_id = '{node_id}' "
                         "and state = 'active'", timeout=10) == 1 and presto.scalar("select 1", timeout=10) == 1


def spark_master_state() -> dict:
    return http_json(f"http://{settings.BIND_HOST}:{settings.SPARK_MASTER_UI_PORT}/json")


def spark_master() -> bool:
    return spark_master_state()["status"] == "ALIVE"


def spark_worker(ui_port: int) -> bool:
    # Registered with the master; a restarted worker's old entry stays listed as DEAD.
    return any(w["state"] == "ALIVE" and w["webuiaddress"].endswith(f":{ui_port}")
               for w in spark_master_state()["workers"])


def api() -> bool:
    # A degraded API answers 503, which urllib raises: not ready.
    return http_json(f"{settings.API_URL}/health").get("status") == "ok"


def stream() -> bool:
    return STREAM_READY.exists()


def prometheus() -> bool:
    # 200 once the TSDB is open and the config (targets, rules) loaded; 503 before.
    with urllib.request.urlopen(f"{settings.PROMETHEUS_URL}/-/ready", timeout=5) as resp:
        return resp.status == 200


def lag_exporter() -> bool:
    # Its /metrics answers; the lag in it may be missing while Kafka or HDFS is down.
    url = f"http://{settings.reachable(settings.BIND_HOST)}:{settings.LAG_EXPORTER_PORT}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status == 200
