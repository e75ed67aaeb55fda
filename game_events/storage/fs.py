"""FileSystem: what the code that reads and changes HDFS asks of a client, so that the
same code (parquet footers, landing, compaction, the rewrite) runs over either one:

    hadoopfs.HadoopFs   a Spark session's own Hadoop client (inside Spark jobs)
    webhdfs.WebHdfs     HTTP, for everything without a Spark session

Paths are HDFS paths; the paths a listing returns are usable with the same client."""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class FileSystem(Protocol):
    def exists(self, path: str) -> bool: ...

    def files(self, path: str) -> list[tuple[str, int]]:
        """(path, length) of each file in a directory."""
        ...

    def dirs(self, path: str) -> list[str]:
        """The path of each directory in a directory."""
        ...

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        """length bytes from offset (all the rest if length is None)."""
        ...

    def create(self, path: str, data: bytes, overwrite: bool = False) -> None: ...

    def concat(self, target: str, sources: list[str]) -> None:
        """Appends the sources' blocks to target and removes the sources: one NameNode
        operation, all or nothing. All must be in one directory."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Raises IOError if HDFS refuses (dst exists, src is missing)."""
        ...

    def rename_over(self, src: str, dst: str) -> None:
        """Renames src to dst, replacing dst, in one NameNode operation."""
        ...

    def delete(self, path: str, recursive: bool = False) -> bool:
        """True if something was deleted."""
        ...
