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
import struct
import time
import uuid
from dataclasses import dataclass

import requests

from game_events import config

log = logging.getLogger("game_events.compaction")
MAGIC = b"PAR1"
BATCH = re.compile(r"batch-(\d+)\.parquet$")
COMPACTED = re.compile(r"compacted-[0-9a-f-]+\.parquet$")
# WebHDFS takes the concat sources in the URL; 400 paths stay well under its 64 KiB limit.
MAX_SOURCES = 400


# --- Thrift compact protocol: just enough to rewrite parquet footers --------------------
# A struct decodes to a list of [field id, compact type, value], so a footer can be edited
# and written back without a generated parquet.thrift module.

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, ctype: int):
        if ctype in (TRUE, FALSE):
            return self.byte() == TRUE  # only inside a list; a field carries it in its type
        if ctype == BYTE:
            return self.byte()
        if ctype in (I16, I32, I64):
            return self.zigzag()
        if ctype == DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8:self.pos]
        if ctype == BINARY:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n:self.pos]
        if ctype in (LIST, SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return [etype, [self.value(etype) for _ in range(size)]]
        if ctype == MAP:
            size = self.varint()
            types = self.byte() if size else 0
            return [types, [(self.value(types >> 4), self.value(types & 0x0F)) for _ in range(size)]]
        if ctype == STRUCT:
            return self.struct()
        raise ValueError(f"unknown thrift compact type {ctype}")

    def struct(self) -> list:
        fields, last = [], 0
        while (head := self.byte()) != STOP:
            ctype, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            if ctype in (TRUE, FALSE):
                fields.append([fid, TRUE, ctype == TRUE])
            else:
                fields.append([fid, ctype, self.value(ctype)])
            last = fid
        return fields


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def write_value(ctype: int, v) -> bytes:
    if ctype in (TRUE, FALSE):
        return bytes([TRUE if v else FALSE])
    if ctype == BYTE:
        return bytes([v])
    if ctype in (I16, I32, I64):
        return _zigzag(v)
    if ctype == DOUBLE:
        return v
    if ctype == BINARY:
        return _varint(len(v)) + v
    if ctype in (LIST, SET):
        etype, items = v
        head = bytes([(len(items) << 4) | etype]) if len(items) < 15 else bytes([0xF0 | etype]) + _varint(len(items))
        return head + b"".join(write_value(etype, x) for x in items)
    if ctype == MAP:
        types, items = v
        if not items:
            return b"\x00"
        return _varint(len(items)) + bytes([types]) + b"".join(
            write_value(types >> 4, k) + write_value(types & 0x0F, x) for k, x in items)
    if ctype == STRUCT:
        return write_struct(v)
    raise ValueError(f"unknown thrift compact type {ctype}")


def write_struct(fields: list) -> bytes:
    out, last = bytearray(), 0
    for fid, ctype, v in sorted(fields, key=lambda f: f[0]):
        t = (TRUE if v else FALSE) if ctype == TRUE else ctype
        out += bytes([((fid - last) << 4) | t]) if 0 < fid - last <= 15 else bytes([t]) + _zigzag(fid)
        if ctype != TRUE:
            out += write_value(ctype, v)
        last = fid
    return bytes(out + b"\x00")


def field(fields: list, fid: int):
    return next((f for f in fields if f[0] == fid), None)


# --- parquet footers ---------------------------------------------------------------------
# FileMetaData: 2 schema, 3 num_rows, 4 row_groups. RowGroup: 1 columns, 5 file_offset,
# 7 ordinal. ColumnChunk: 2 file_offset, 3 meta_data, 4-7 page index offsets and lengths.
# ColumnMetaData: 9 data_page_offset, 10 index_page_offset, 11 dictionary_page_offset,
# 14-15 bloom filter offset and length.

def footer_of(tail: bytes, size: int) -> list:
    """The FileMetaData of a parquet file of `size` bytes, from its last bytes."""
    if tail[-4:] != MAGIC:
        raise ValueError("not a parquet file (no PAR1 at the end; encrypted footers are not supported)")
    (n,) = struct.unpack("<I", tail[-8:-4])
    if n + 8 > len(tail):
        raise ValueError(f"footer of {n} bytes is longer than the tail read")
    meta = Reader(tail[-8 - n:-8]).struct()
    if field(meta, 8):
        raise ValueError("encrypted parquet files are not supported")
    return meta


def shifted_row_groups(meta: list, shift: int) -> list:
    """The file's row groups with every file offset moved by `shift` bytes. The page
    indexes and bloom filters are dropped: an offset index holds absolute page offsets
    inside the bytes we do not rewrite, and readers do without them."""
    groups = []
    for rg in field(meta, 4)[2][1]:
        rg = [f for f in rg if f[0] != 7]  # ordinals are renumbered by position; leave unset
        for f in rg:
            if f[0] == 5 and f[2] > 0:
                f[2] += shift
        for chunk in field(rg, 1)[2][1]:
            chunk[:] = [f for f in chunk if f[0] not in (4, 5, 6, 7)]
            for f in chunk:
                if f[0] == 2 and f[2] > 0:
                    f[2] += shift
            md = field(chunk, 3)[2]
            md[:] = [f for f in md if f[0] not in (14, 15)]
            for f in md:
                if f[0] in (9, 10, 11) and f[2] > 0:  # 0 means "none" for the optional ones
                    f[2] += shift
        groups.append(rg)
    return groups


def merged_meta(template: list, num_rows: int, row_groups: list) -> bytes:
    meta = [[fid, t, v] for fid, t, v in template if fid not in (3, 4)]
    meta += [[3, I64, num_rows], [4, LIST, [STRUCT, row_groups]]]
    return write_struct(meta)


def empty_file(template: list) -> bytes:
    """A complete parquet file with the template's schema and no rows."""
    meta = merged_meta(template, 0, [])
    return MAGIC + meta + struct.pack("<I", len(meta)) + MAGIC


def footer_piece(template: list, num_rows: int, row_groups: list) -> bytes:
    """The bytes that end a concatenation: its FileMetaData, length and magic."""
    meta = merged_meta(template, num_rows, row_groups)
    return meta + struct.pack("<I", len(meta)) + MAGIC


# --- WebHDFS -----------------------------------------------------------------------------

class Hdfs:
    def __init__(self, base: str = config.WEBHDFS, user: str = "root"):
        self.base, self.user = base.rstrip("/") + "/webhdfs/v1", user
        self.http = requests.Session()

    def _call(self, method: str, path: str, op: str, ok=(200,), **params):
        resp = self.http.request(method, f"{self.base}{path}", allow_redirects=False,
                                 params={"op": op, "user.name": self.user, **params}, timeout=60)
        if resp.status_code not in ok:
            raise IOError(f"webhdfs {op} {path}: {resp.status_code} {resp.text[:300]}")
        return resp

    def list(self, path: str) -> list[dict]:
        resp = self._call("GET", path, "LISTSTATUS", ok=(200, 404))
        return [] if resp.status_code == 404 else resp.json()["FileStatuses"]["FileStatus"]

    def read(self, path: str, offset: int, length: int) -> bytes:
        loc = self._call("GET", path, "OPEN", ok=(307,), offset=offset, length=length)
        resp = self.http.get(loc.headers["Location"], timeout=60)
        if resp.status_code != 200:
            raise IOError(f"webhdfs OPEN {path}: {resp.status_code} {resp.text[:300]}")
        return resp.content

    def create(self, path: str, data: bytes) -> None:
        loc = self._call("PUT", path, "CREATE", ok=(307,), overwrite="false")
        resp = self.http.put(loc.headers["Location"], data=data, timeout=60)
        if resp.status_code != 201:
            raise IOError(f"webhdfs CREATE {path}: {resp.status_code} {resp.text[:300]}")

    def rename(self, src: str, dst: str) -> None:
        if not self._call("PUT", src, "RENAME", destination=dst).json()["boolean"]:
            raise IOError(f"could not rename {src} to {dst}")

    def delete(self, path: str) -> None:
        self._call("DELETE", path, "DELETE", recursive="false")

    def concat(self, target: str, sources: list[str]) -> None:
        self._call("POST", target, "CONCAT", sources=",".join(sources))


# --- compaction ----------------------------------------------------------------------------

@dataclass
class Result:
    table_path: str
    files_before: int
    files_after: int
    merged_files: int  # inputs merged away
    outputs: int
    rows: int


def last_committed_batch(hdfs: Hdfs, checkpoint: str) -> int:
    """The newest batch id the stream's checkpoint records as committed (-1 if none):
    Spark replays only batches after it."""
    ids = [int(s["pathSuffix"]) for s in hdfs.list(f"{checkpoint}/commits") if s["pathSuffix"].isdigit()]
    return max(ids, default=-1)


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


def merge(hdfs: Hdfs, table_path: str, group: list[dict]) -> int:
    """Replaces the group's files by one, with a single concat; returns its rows."""
    metas = []
    for s in group:
        path, size = f"{table_path}/{s['pathSuffix']}", s["length"]
        tail = hdfs.read(path, max(0, size - 65536), min(size, 65536))
        (n,) = struct.unpack("<I", tail[-8:-4])
        if n + 8 > len(tail):
            tail = hdfs.read(path, size - n - 8, n + 8)
        metas.append(footer_of(tail, size))
    template = metas[0]
    schema = write_value(LIST, field(template, 2)[2])
    for s, meta in zip(group, metas):
        if write_value(LIST, field(meta, 2)[2]) != schema:
            raise ValueError(f"{s['pathSuffix']} has another schema than {group[0]['pathSuffix']}; not merged")
    head = empty_file(template)
    offset, row_groups, rows = len(head), [], 0
    for s, meta in zip(group, metas):
        row_groups += shifted_row_groups(meta, offset)
        rows += field(meta, 3)[2]
        offset += s["length"]
    name = uuid.uuid4().hex[:12]
    target = f"{table_path}/compacted-{time.strftime('%Y%m%d%H%M%S')}-{name}.parquet"
    footer = f"{table_path}/.compact-{name}.footer"
    hdfs.create(f"{table_path}/.compact-{name}.parquet", head)
    hdfs.rename(f"{table_path}/.compact-{name}.parquet", target)  # visible, and holds no rows
    hdfs.create(footer, footer_piece(template, rows, row_groups))
    try:
        hdfs.concat(target, [f"{table_path}/{s['pathSuffix']}" for s in group] + [footer])
    except IOError:
        hdfs.delete(target)  # no rows: removing it changes no count
        hdfs.delete(footer)
        raise
    return rows


def compact(table_path: str, older_than_s: float, target_bytes: int = 128 * 1024 * 1024,
            checkpoint: str | None = config.CHECKPOINT_PATH, hdfs: Hdfs | None = None) -> Result:
    """Merges table_path's files; checkpoint=None for a table no stream writes to (every
    batch file is then complete and never replayed)."""
    hdfs = hdfs or Hdfs()
    for s in hdfs.list(table_path):  # leftovers of a run that crashed
        if s["pathSuffix"].startswith(".compact-"):
            hdfs.delete(f"{table_path}/{s['pathSuffix']}")
    statuses = [s for s in hdfs.list(table_path) if s["type"] == "FILE" and not s["pathSuffix"].startswith((".", "_"))]
    committed = last_committed_batch(hdfs, checkpoint) if checkpoint else float("inf")
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
