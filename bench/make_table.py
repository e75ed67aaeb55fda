"""Spark job for bench/query.py: writes EVENTS synthetic events with hive_events' columns
as FILES small files batch-<id>.parquet under PATH (as the stream lands them) and
registers them as the external table TABLE.

    spark-submit bench/make_table.py TABLE PATH EVENTS FILES TAG
"""
import json
import sys

from pyspark.sql import functions as F

from game_events import catalogue, spark
from game_events.storage.hadoopfs import HadoopFs


def main():
    table, path, events, files, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    session = spark.session("make_table")
    i = F.col("id")
    kind = i % 4
    swords = F.array(*[F.lit(t) for t in catalogue.SWORD_PRICES])
    prices = F.create_map(*[F.lit(x) for kv in catalogue.SWORD_PRICES.items() for x in kv])
    sword = F.element_at(swords, (i % 3 + 1).cast("int"))
    cols = {
        "event_type": F.element_at(F.array(*map(F.lit, ("purchase_sword", "join_a_guild", "quit_guild", "get_paid"))),
                                   (kind + 1).cast("int")),
        "user": F.concat(F.lit("user"), (i % 1000).cast("string"), F.lit(f"-{tag}")),
        "type": F.when(kind == 0, sword),
        "price": F.when(kind == 0, F.element_at(prices, sword)),
        "fee": F.when(kind == 1, F.lit(catalogue.GUILD_FEE)),
        "name": F.when(kind.isin(1, 2), F.element_at(F.array(F.lit("knights"), F.lit("wizards")), (i % 2 + 1).cast("int"))),
        "amount": F.when(kind == 3, (i % 50 + 1) * 10),
        "timestamp": F.date_format(F.timestamp_seconds(F.lit(1764300000) + i / 100), "yyyy-MM-dd HH:mm:ss.SSS"),
        "accept": F.lit("*/*"),
        "host": F.concat(F.lit("user"), (i % 3).cast("string"), F.lit(".example.com")),
        "user_agent": F.lit("ApacheBench/2.3"),
    }
    cols["raw_event"] = F.to_json(F.struct(*[cols[c].alias(c) for c in ("event_type", "user", "type", "name")]))
    df = session.range(events, numPartitions=files).select(
        *[cols[n].cast(t).alias(n) for n, t in catalogue.COLUMNS])
    staging = f"{path}/.staging/make_table"
    df.write.mode("overwrite").parquet(staging)
    fs = HadoopFs(session)
    parts = sorted(p for p, _ in fs.files(staging) if p.rsplit("/", 1)[1].startswith("part-"))
    for n, part in enumerate(parts):
        fs.rename(part, f"{path}/batch-{n:012d}.parquet")
    fs.delete(f"{path}/.staging", True)
    session.sql(catalogue.ddl(table, catalogue.COLUMNS, path))
    print(json.dumps({"files": len(parts), "events": events}))


if __name__ == "__main__":
    main()
