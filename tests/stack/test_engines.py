"""The local stack's engines, through their real protocols."""
import uuid

import pytest

from game_events import settings, topic
from game_events.storage.webhdfs import WebHdfs
from tests.support.commands import BIN, run
from tests.support.engines import presto_rows

pytestmark = pytest.mark.timeout(300, func_only=True)


def test_kafka_produce_and_consume(infra):
    name = f"t-{uuid.uuid4().hex[:8]}"
    topic.create(name)
    sent = [f"message {i}".encode() for i in range(20)]
    assert topic.produce(name, sent) == list(range(20))
    assert [value for _, _, value in topic.read(name)] == sent


def test_hdfs_write_and_list(infra, tmp_path):
    local = tmp_path / "hello.txt"
    local.write_text("hello hdfs\n")
    d = f"/tmp/test-{uuid.uuid4().hex[:8]}"
    run(BIN / "hadoop", "fs", "-mkdir", "-p", d)
    run(BIN / "hadoop", "fs", "-put", local, d + "/")
    listing = run(BIN / "hadoop", "fs", "-ls", d).stdout
    assert f"{d}/hello.txt" in listing
    assert run(BIN / "hadoop", "fs", "-cat", f"{d}/hello.txt").stdout == "hello hdfs\n"
    assert [s["pathSuffix"] for s in WebHdfs().list(d)] == ["hello.txt"]


SPARK_TABLE = """
import sys
from game_events import spark as sessions
table, path = sys.argv[1], sys.argv[2]
spark = sessions.session("test_engines")
spark.sql(f"CREATE EXTERNAL TABLE {table} (`user` string, price decimal(10,0), amount decimal(10,0)) "
          f"STORED AS PARQUET LOCATION '{path}'")
spark.sql(f"INSERT INTO {table} VALUES ('alice', 15, 100), ('bob', 5, 9999999999)")
print(sorted(tuple(r) for r in spark.table(table).collect()))
"""


def test_spark_table_is_read_by_presto(infra, tmp_path):
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
from game_events import settings
from game_events import spark as sessions
spark = sessions.session("test_kafka_batch")
df = (spark.read.format("kafka").option("kafka.bootstrap.servers", settings.KAFKA_BOOTSTRAP)
      .option("subscribe", sys.argv[1]).option("startingOffsets", "earliest").load())
print("VALUES", sorted(r.v for r in df.selectExpr("cast(value as string) as v").collect()))
"""


def test_spark_batch_reads_kafka_through_the_connector(infra, tmp_path):
    name = f"spark-{uuid.uuid4().hex[:8]}"
    topic.create(name)
    topic.produce(name, [f"v{i}".encode() for i in range(5)])
    script = tmp_path / "read_kafka.py"
    script.write_text(SPARK_KAFKA)
    out = run(BIN / "spark-submit", script, name).stdout
    assert "VALUES ['v0', 'v1', 'v2', 'v3', 'v4']" in out
