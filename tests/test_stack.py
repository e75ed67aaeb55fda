"""The local stack's engines, through their real protocols."""
import os
import signal
import subprocess
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from conftest import BIN, ROOT, presto_rows, run, stackctl_cmd, wait_for

pytestmark = pytest.mark.stack


def test_kafka_produce_and_consume(stack):
    topic = f"t-{uuid.uuid4().hex[:8]}"
    bootstrap = f"127.0.0.1:{stack.SETTINGS['KAFKA_PORT']}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    sent = [f"message {i}".encode() for i in range(20)]
    for m in sent:
        producer.send(topic, m)
    producer.flush(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10000)
    got = [r.value for r in consumer]
    consumer.close()
    assert got == sent


def test_hdfs_write_and_list(stack, tmp_path):
    local = tmp_path / "hello.txt"
    local.write_text("hello hdfs\n")
    d = f"/tmp/test-{uuid.uuid4().hex[:8]}"
    run(BIN / "hadoop", "fs", "-mkdir", "-p", d)
    run(BIN / "hadoop", "fs", "-put", local, d + "/")
    listing = run(BIN / "hadoop", "fs", "-ls", d).stdout
    assert f"{d}/hello.txt" in listing
    assert run(BIN / "hadoop", "fs", "-cat", f"{d}/hello.txt").stdout == "hello hdfs\n"
    names = [s["pathSuffix"] for s in stack.webhdfs(d)["FileStatuses"]["FileStatus"]]
    assert names == ["hello.txt"]


SPARK_TABLE = """
import sys
from game_events import config
table, path = sys.argv[1], sys.argv[2]
spark = config.spark_session("test_stack")
spark.sql(f"CREATE EXTERNAL TABLE {table} (`user` string, price decimal(10,0), amount decimal(10,0)) "
          f"STORED AS PARQUET LOCATION '{path}'")
spark.sql(f"INSERT INTO {table} VALUES ('alice', 15, 100), ('bob', 5, 9999999999)")
print(sorted(tuple(r) for r in spark.table(table).collect()))
"""


def test_spark_table_is_read_by_presto(stack, tmp_path):
    table = f"t_{uuid.uuid4().hex[:8]}"
    script = tmp_path / "make_table.py"
    script.write_text(SPARK_TABLE)
    out = run(BIN / "spark-submit", script, table, f"/tmp/{table}").stdout
    assert "('alice', Decimal('15'), Decimal('100'))" in out
    rows = presto_rows(f"select user, price, amount from {table} order by user")
    assert [(u, int(p), int(a)) for u, p, a in rows] == [("alice", 15, 100), ("bob", 5, 9999999999)]
    desc = presto_rows(f"describe {table}")
    assert [(c, t) for c, t, *_ in desc] == [("user", "varchar"), ("price", "decimal(10,0)"),
                                              ("amount", "decimal(10,0)")]
    cli = run(BIN / "presto", "--catalog", "hive", "--schema", "default", "--execute",
              f"select user, price from {table} order by user").stdout
    assert cli.splitlines() == ['"alice","15"', '"bob","5"']


SPARK_KAFKA = """
import sys
from game_events import config
spark = config.spark_session("test_kafka_batch")
df = (spark.read.format("kafka").option("kafka.bootstrap.servers", config.KAFKA_BOOTSTRAP)
      .option("subscribe", sys.argv[1]).option("startingOffsets", "earliest").load())
print("VALUES", sorted(r.v for r in df.selectExpr("cast(value as string) as v").collect()))
"""


def test_spark_batch_reads_kafka_through_the_connector(stack, tmp_path):
    topic = f"spark-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{stack.SETTINGS['KAFKA_PORT']}", acks="all")
    for i in range(5):
        producer.send(topic, f"v{i}".encode())
    producer.flush(timeout=30)
    producer.close()
    script = tmp_path / "read_kafka.py"
    script.write_text(SPARK_KAFKA)
    out = run(BIN / "spark-submit", script, topic).stdout
    assert "VALUES ['v0', 'v1', 'v2', 'v3', 'v4']" in out


def status_table() -> dict[str, str]:
    out = subprocess.run(["make", "-s", "status"], cwd=ROOT, capture_output=True, text=True).stdout
    return {cols[0]: cols[3] for cols in (ln.split() for ln in out.splitlines()[1:]) if len(cols) >= 4}


def test_status_reports_healthy_and_killed(stack):
    table = status_table()
    for name in stack.GROUPS["infra"]:
        assert table[name] == "healthy", table
    pid = int(stack.pidfile(stack.BY_NAME["datanode"]).read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: status_table()["datanode"] == "down", 20, what="datanode reported down")
    stackctl_cmd("up", "datanode")  # a stale pid file must not stop a restart
    assert status_table()["datanode"] == "healthy"


def test_up_twice_is_harmless(stack):
    before = {s: stack.pidfile(stack.BY_NAME[s]).read_text() for s in stack.GROUPS["infra"]}
    out = stackctl_cmd("up", "infra").stdout
    assert "started" not in out
    after = {s: stack.pidfile(stack.BY_NAME[s]).read_text() for s in stack.GROUPS["infra"]}
    assert before == after


def test_port_in_use_is_one_clear_line(stack):
    env = {**os.environ, "STACK_DATA": str(ROOT / "var" / "other-stack")}
    import sys
    res = subprocess.run([sys.executable, ROOT / "stack" / "stackctl.py", "up", "kafka"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stderr.strip() == (f"error: port {stack.SETTINGS['KAFKA_PORT']} (KAFKA_PORT) for kafka is already in "
                                  "use by another process; stop it or set KAFKA_PORT to a free port")


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by pid or its children."""
    import ipaddress

    inodes, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                target = os.readlink(f"/proc/{p}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split()]
        except OSError:
            pass
    out = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in open(table).read().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                hexaddr, port = f[1].split(":")
                raw = bytes.fromhex(hexaddr)
                # /proc stores each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                addr = ipaddress.ip_address(raw)
                if getattr(addr, "ipv4_mapped", None):
                    addr = addr.ipv4_mapped
                out.add((str(addr), int(port, 16)))
    return out


# Listeners that PrestoDB 0.287 opens with no setting for their address: an RMI export of
# airlift's JMX agent and the Drift (Thrift) server for internal task communication.
UNBINDABLE = {"presto": 2}


def test_every_service_listens_on_loopback_only(pipeline):
    exposed = {}
    for svc in pipeline.SERVICES:
        pid = pipeline.running_pid(svc)
        assert pid, f"{svc.name} is not running"
        sockets = listening_sockets(pid)
        assert sockets, f"{svc.name} listens nowhere"
        if svc.port_key:
            assert ("127.0.0.1", int(pipeline.SETTINGS[svc.port_key])) in sockets, (svc.name, sockets)
        public = {s for s in sockets if not s[0].startswith("127.")}
        exposed[svc.name] = sorted(public)
        assert len(public) <= UNBINDABLE.get(svc.name, 0), (svc.name, public)
