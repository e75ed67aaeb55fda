"""Parquet footers, rewritten without a parquet library: a Thrift compact protocol codec
(just enough for FileMetaData) and the footer surgery that makes one HDFS concat of N
parquet files plus a new footer itself a valid parquet file. Compaction merges landed
files this way (game_events.storage.compaction), and the stream joins the part files
of a batch into the batch's one file (game_events.stream.landing)."""
from __future__ import annotations

import struct

from game_events.storage.fs import FileSystem

MAGIC = b"PAR1"


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


def key_values(meta: list) -> dict[bytes, bytes | None]:
    """The footer's key-value metadata (FileMetaData field 5)."""
    kv = field(meta, 5)
    return {field(item, 1)[2]: (field(item, 2) or [0, 0, None])[2] for item in kv[2][1]} if kv else {}


def merged_meta(template: list, num_rows: int, row_groups: list, marks: dict[bytes, bytes] | None = None) -> bytes:
    meta = [[fid, t, v] for fid, t, v in template if fid not in (3, 4) and not (marks and fid == 5)]
    meta += [[3, I64, num_rows], [4, LIST, [STRUCT, row_groups]]]
    if marks:
        kv = {**key_values(template), **marks}
        meta.append([5, LIST, [STRUCT, [[[1, BINARY, k]] + ([] if v is None else [[2, BINARY, v]])
                                        for k, v in kv.items()]]])
    return write_struct(meta)


def empty_file(template: list) -> bytes:
    """A complete parquet file with the template's schema and no rows."""
    meta = merged_meta(template, 0, [])
    return MAGIC + meta + struct.pack("<I", len(meta)) + MAGIC


def footer_piece(template: list, num_rows: int, row_groups: list, marks: dict[bytes, bytes] | None = None) -> bytes:
    """The bytes that end a concatenation: its FileMetaData, length and magic."""
    meta = merged_meta(template, num_rows, row_groups, marks)
    return meta + struct.pack("<I", len(meta)) + MAGIC


def rows_of(meta: list) -> int:
    return field(meta, 3)[2]


def read_footer(fs: FileSystem, path: str, size: int) -> list:
    """The FileMetaData of a parquet file of `size` bytes. Reads the last 64 KiB, or more
    if the footer is longer."""
    tail = fs.read(path, max(0, size - 65536), min(size, 65536))
    (n,) = struct.unpack("<I", tail[-8:-4])
    if n + 8 > len(tail):
        tail = fs.read(path, size - n - 8, n + 8)
    return footer_of(tail, size)


def joined_footer(files: list[tuple[str, int, list]], offset: int,
                  marks: dict[bytes, bytes] | None = None) -> tuple[bytes, int]:
    """The footer piece that, appended to files (path, size, FileMetaData) laid end to end
    from byte `offset` of one file, makes that file hold every row group of theirs; and
    its number of rows. The files must share one schema; marks are added to the first
    file's key-value metadata."""
    schema = write_value(LIST, field(files[0][2], 2)[2])
    row_groups, rows = [], 0
    for path, size, meta in files:
        if write_value(LIST, field(meta, 2)[2]) != schema:
            raise ValueError(f"{path} has another schema than {files[0][0]}; not joined")
        row_groups += shifted_row_groups(meta, offset)
        rows += rows_of(meta)
        offset += size
    return footer_piece(files[0][2], rows, row_groups, marks), rows


def concat_parts(fs: FileSystem, parts: list[tuple[str, int, list]], footer_path: str) -> int:
    """Joins part files (path, size, FileMetaData) of one HDFS folder into the first, in
    place: one concat of the others and a footer at footer_path that covers all their row
    groups. Returns its rows."""
    footer, rows = joined_footer(parts, 0)
    if len(parts) > 1:
        # Over a footer left by a crashed attempt in the same folder.
        fs.create(footer_path, footer, overwrite=True)
        fs.concat(parts[0][0], [p[0] for p in parts[1:]] + [footer_path])
    return rows
