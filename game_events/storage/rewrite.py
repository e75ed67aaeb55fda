"""Rewrites each merged file of hive_events into large row groups, one event type each and
sorted by time, and swaps it in with one rename over the old file.

Why. compaction.merge joins small files by HDFS concat, which is atomic but rewrites no
data page: every input's small row group stays a row group of the merged file. Presto then
reads hundreds of row groups per file, each with its own dictionaries, and can skip none
of them. With a row group per event type (or several, for a large type), a query that
filters on event_type skips the other types' row groups by their statistics, and the rows
of one type stay in time order for the per-second aggregations (BENCHMARKS.md, queries
over 10 M events: merged, then rewritten).

Which files. compaction marks the footer of each file it merges (MERGED_MARK); a rewritten
file has Spark's own footers, without the mark, until a later merge joins it to others.

The swap. The copy is written beside the file under a hidden name, its row count is
checked against the old file's footer, and one NameNode operation (rename with
OVERWRITE) puts it in the old file's place: a listing shows the old rows or the new ones,
never both nor neither. A query that opened the old file before the swap fails instead of
counting wrongly, as with compaction. A crash leaves a hidden .rewrite-* folder, which the
next run removes.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from game_events import spark
from game_events.storage.compaction import COMPACTED, MERGED_MARK
from game_events.storage.fs import FileSystem
from game_events.storage.hadoopfs import HadoopFs
from game_events.storage.parquet_footer import concat_parts, field, key_values, read_footer, rows_of
from game_events.storage.webhdfs import WebHdfs

log = logging.getLogger("game_events.compaction")
SORT_BY = ("event_type", "timestamp")
_TYPE = "_rewrite_by"
# Spark's parquet.block.size: a row group of about a million events here (8 MiB encoded).
ROW_GROUP_BYTES = 8 * 1024 * 1024


@dataclass
class Rewritten:
    path: str
    rows: int
    row_groups_before: int
    row_groups_after: int


def row_groups(meta: list) -> int:
    return len(field(meta, 4)[2][1])


def needs_rewrite(meta: list) -> bool:
    """A file that compaction merged, and that holds more than one row group."""
    return MERGED_MARK in key_values(meta) and row_groups(meta) > 1


def rewrite_file(session, fs: FileSystem, path: str, meta: list) -> Rewritten:
    from pyspark.sql import functions as F

    table_path = path.rsplit("/", 1)[0]
    staging = f"{table_path}/.rewrite-{uuid.uuid4().hex[:12]}"
    try:
        # One task writes a file per event type (partitionBy a copy of the column, so the
        # files keep the column itself), each sorted by time: no row group then holds two
        # types, so a filter on event_type skips whole row groups.
        (session.read.parquet(path).withColumn(_TYPE, F.col(SORT_BY[0])).coalesce(1)
         .sortWithinPartitions(_TYPE, *SORT_BY[1:])
         .write.partitionBy(_TYPE).option("parquet.block.size", ROW_GROUP_BYTES).parquet(f"{staging}/by-type"))
        parts = []
        for folder in sorted(fs.dirs(f"{staging}/by-type")):
            for part, size in fs.files(folder):
                if part.rsplit("/", 1)[1].startswith("part-"):
                    # HDFS concatenates only files of one folder.
                    parts.append((f"{staging}/part-{len(parts):05d}.parquet", size))
                    fs.rename(part, parts[-1][0])
        parts = [(part, size, read_footer(fs, part, size)) for part, size in parts]
        rows = concat_parts(fs, parts, f"{staging}/.footer")
        if rows != rows_of(meta):
            raise IOError(f"the rewrite of {path} holds {rows} rows, not {rows_of(meta)}; left as it was")
        fs.rename_over(parts[0][0], path)
    finally:
        fs.delete(staging, True)
    return Rewritten(path, rows, row_groups(meta), sum(row_groups(m) for _, _, m in parts))


def rewrite(table_path: str, session=None) -> list[Rewritten]:
    """Rewrites table_path's merged files that still hold their small row groups. It reads
    the footers through WebHDFS, so Spark starts (session, or a session of its own) only
    when a file needs the rewrite."""
    hdfs = WebHdfs()
    statuses = hdfs.list(table_path)
    for s in statuses:  # leftovers of a run that crashed
        if s["type"] == "DIRECTORY" and s["pathSuffix"].startswith(".rewrite-"):
            hdfs.delete(f"{table_path}/{s['pathSuffix']}", True)
    todo = []
    for s in statuses:
        if s["type"] == "FILE" and COMPACTED.match(s["pathSuffix"]):
            path = f"{table_path}/{s['pathSuffix']}"
            meta = read_footer(hdfs, path, s["length"])
            if needs_rewrite(meta):
                todo.append((path, meta))
    if not todo:
        return []
    session = session or spark.session("compact_events")
    fs, done = HadoopFs(session), []
    for path, meta in todo:
        done.append(rewrite_file(session, fs, path, meta))
        log.info("%s: rewrote %s, %d rows, %d row groups -> %d", table_path, path.rsplit("/", 1)[1], done[-1].rows,
                 done[-1].row_groups_before, done[-1].row_groups_after)
    return done
