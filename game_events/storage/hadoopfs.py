"""HadoopFs: HDFS through a Spark session's own Hadoop client (a storage.fs.FileSystem).
The stream lands with the client its writers use, so it sees HDFS exactly as they do and
needs no WebHDFS."""
from __future__ import annotations


class HadoopFs:
    def __init__(self, spark):
        self.jvm, self.gateway = spark._jvm, spark.sparkContext._gateway
        self.conf = spark._jsc.hadoopConfiguration()

    def _path(self, path: str):
        p = self.jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self.conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._path(path)
        return fs.exists(p)

    def files(self, path: str) -> list[tuple[str, int]]:
        fs, p = self._path(path)
        return [(s.getPath().toString(), s.getLen()) for s in fs.listStatus(p) if s.isFile()]

    def dirs(self, path: str) -> list[str]:
        fs, p = self._path(path)
        return [s.getPath().toString() for s in fs.listStatus(p) if s.isDirectory()]

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        fs, p = self._path(path)
        stream = fs.open(p)
        try:
            stream.seek(offset)
            io = self.jvm.org.apache.commons.io.IOUtils
            return bytes(io.toByteArray(stream) if length is None else io.toByteArray(stream, length))
        finally:
            stream.close()

    def create(self, path: str, data: bytes, overwrite: bool = False) -> None:
        fs, p = self._path(path)
        out = fs.create(p, overwrite)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def concat(self, target: str, sources: list[str]) -> None:
        fs, p = self._path(target)
        paths = self.gateway.new_array(self.jvm.org.apache.hadoop.fs.Path, len(sources))
        for i, s in enumerate(sources):
            paths[i] = self.jvm.org.apache.hadoop.fs.Path(s)
        fs.concat(p, paths)

    def rename(self, src: str, dst: str) -> None:
        fs, p = self._path(src)
        if not fs.rename(p, self.jvm.org.apache.hadoop.fs.Path(dst)):
            raise IOError(f"could not rename {src} to {dst}")

    def rename_over(self, src: str, dst: str) -> None:
        # FileSystem.rename has no overwrite; FileContext's does, in one NameNode call.
        fs_pkg = self.jvm.org.apache.hadoop.fs
        options = self.gateway.new_array(getattr(fs_pkg, "Options$Rename"), 1)
        options[0] = getattr(fs_pkg, "Options$Rename").OVERWRITE
        _, p = self._path(src)
        fs_pkg.FileContext.getFileContext(p.toUri(), self.conf).rename(p, fs_pkg.Path(dst), options)

    def delete(self, path: str, recursive: bool = False) -> bool:
        fs, p = self._path(path)
        return fs.delete(p, recursive)
