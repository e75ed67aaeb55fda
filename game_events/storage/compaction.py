"""Merges the small batch-<id>.parquet files that the stream lands into large files,
atomically toward readers.

Why HDFS concat. Presto lists the table's directory at the start of each query, so the
swap of N small files for one large file must be a single namespace operation: with two
(rename the merged file in, then delete the inputs, or the reverse) some listing sees the
rows twice or not at all. A rename moves one subtree, and moving the table's location in
the metastore changes one prefix, so neither can hide N files and show another in one
step while the stream keeps landing files beside them. HDFS `concat(target, sources)` can:
in one NameNode operation it appends the sources' blocks to the target and removes the
sources. So a merge is

    compacted-<id>.parquet  a valid parquet file with no rows (visible: adds nothing)
    batch-<a>.parquet ...   the inputs, unchanged (visible)
    .compact-<id>.footer    a parquet footer that lists every row group of the inputs at
                            its offset in the concatenation (hidden: Presto and Spark skip
                            names that start with ".")

and one `concat(compacted-<id>.parquet, [inputs..., .compact-<id>.footer])` turns the
empty file into one whose footer covers every input row, and removes the inputs, at once.
No data page is rewritten; each input's row group stays a row group of the merged file.
A query that listed the inputs before the swap and opens one after it fails (file not
found) instead of counting wrongly, as with any compaction that deletes files.

Safe beside the stream: it takes only batch files that the stream's checkpoint records
as committed (Spark never replays those, so the stream's "already landed" check is never
needed for them) and older than the given period, and touches nothing else. Re-runnable:
a crash leaves at most hidden .compact-* files (removed by the next run) or an empty
compacted file (merged by the next run); the concat itself is all or nothing.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

from game_events import settings
from game_events.storage.checkpoint import last_committed_batch
from game_events.storage.fs import FileSystem
from game_events.storage.parquet_footer import empty_file, joined_footer, read_footer
from game_events.storage.webhdfs import WebHdfs

log = logging.getLogger("game_events.compaction")
BATCH = re.compile(r"batch-(\d+)\.parquet$")
COMPACTED = re.compile(r"compacted-[0-9a-f-]+\.parquet$")
# WebHDFS takes the concat sources in the URL; 400 paths stay well under its 64 KiB limit.
MAX_SOURCES = 400
# The key-value metadata that marks a file merged by concat, until it is rewritten.
MERGED_MARK = b"game_events.merged"


@dataclass
class Result:
    table_path: str
    files_before: int
    files_after: int
    merged_files: int  # inputs merged away
    outputs: int
    rows: int


def select(statuses: list[dict], committed: int, cutoff_ms: float, target_bytes: int) -> list[list[dict]]:
    """Groups of two or more files to merge, in landing order, each under target_bytes."""
    def eligible(s: dict) -> bool:
        name = s["pathSuffix"]
        if s["type"] != "FILE" or s["modificationTime"] > cutoff_ms or s["length"] >= target_bytes:
            return False
        m = BATCH.match(name)
        return (m is not None and int(m[1]) <= committed) or COMPACTED.match(name) is not None

    picked = sorted((s for s in statuses if eligible(s)), key=lambda s: (s["modificationTime"], s["pathSuffix"]))
    groups, group, size = [], [], 0
    for s in picked:
        if group and (size + s["length"] > target_bytes or len(group) >= MAX_SOURCES):
            groups.append(group)
            group, size = [], 0
        group.append(s)
        size += s["length"]
    groups.append(group)
    return [g for g in groups if len(g) >= 2]


def merge(hdfs: FileSystem, table_path: str, group: list[dict]) -> int:
    """Replaces the group's files by one, with a single concat; returns its rows."""
    files = [(f"{table_path}/{s['pathSuffix']}", s["length"]) for s in group]
    files = [(path, size, read_footer(hdfs, path, size)) for path, size in files]
    head = empty_file(files[0][2])
    # Marked, so that the rewrite (storage.rewrite) knows the file still holds the small
    # row groups as they were landed.
    footer_bytes, rows = joined_footer(files, len(head), {MERGED_MARK: b"row groups as landed"})
    name = uuid.uuid4().hex[:12]
    target = f"{table_path}/compacted-{time.strftime('%Y%m%d%H%M%S')}-{name}.parquet"
    footer = f"{table_path}/.compact-{name}.footer"
    hdfs.create(f"{table_path}/.compact-{name}.parquet", head)
    hdfs.rename(f"{table_path}/.compact-{name}.parquet", target)  # visible, and holds no rows
    hdfs.create(footer, footer_bytes)
    try:
        hdfs.concat(target, [f"{table_path}/{s['pathSuffix']}" for s in group] + [footer])
    except IOError:
        hdfs.delete(target)  # no rows: removing it changes no count
        hdfs.delete(footer)
        raise
    return rows


def compact(table_path: str, older_than_s: float, target_bytes: int = 128 * 1024 * 1024,
            checkpoint: str | None = settings.CHECKPOINT_PATH, hdfs: WebHdfs | None = None) -> Result:
    """Merges table_path's files; checkpoint=None for a table no stream writes to (every
    batch file is then complete and never replayed)."""
    hdfs = hdfs or WebHdfs()
    for s in hdfs.list(table_path):  # leftovers of a run that crashed
        if s["pathSuffix"].startswith(".compact-"):
            hdfs.delete(f"{table_path}/{s['pathSuffix']}")
    statuses = [s for s in hdfs.list(table_path) if s["type"] == "FILE" and not s["pathSuffix"].startswith((".", "_"))]
    if checkpoint is None:
        committed = float("inf")
    else:  # -1: nothing committed yet, so no batch file is safe to merge
        last = last_committed_batch(checkpoint, hdfs)
        committed = -1 if last is None else last
    groups = select(statuses, committed, time.time() * 1000 - older_than_s * 1000,
                    target_bytes)
    rows = 0
    for group in groups:
        rows += merge(hdfs, table_path, group)
        log.info("%s: merged %d files, %d rows", table_path, len(group), rows)
    merged = sum(len(g) for g in groups)
    return Result(table_path, len(statuses), len(statuses) - merged + len(groups), merged, len(groups), rows)


PERIOD = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)$")


def seconds(period: str) -> float:
    """'90s', '15m', '1h', '2d' or a number of seconds."""
    m = PERIOD.match(period.strip())
    if not m:
        raise ValueError(f"not a period: {period!r} (e.g. 90s, 15m, 1h, 2d)")
    return float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
