"""The one WebHDFS client: HDFS over HTTP (a storage.fs.FileSystem, and more), for
everything that reads or changes HDFS without a Spark session (compaction, the checkpoint
reader, the launcher's probes, the benchmarks and the tests). Every call is bounded by
`timeout`; a failed call raises IOError with HDFS's answer."""
from __future__ import annotations

import requests

from game_events import settings


class WebHdfs:
    def __init__(self, base: str | None = None, user: str = "root", timeout: float = 60):
        self.base = (base or settings.WEBHDFS).rstrip("/") + "/webhdfs/v1"
        self.user, self.timeout = user, timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, op: str, ok=(200,), **params) -> requests.Response:
        resp = self.http.request(method, f"{self.base}{path}", allow_redirects=False, timeout=self.timeout,
                                 params={"op": op, "user.name": self.user, **params})
        if resp.status_code not in ok:
            raise IOError(f"webhdfs {op} {path}: {resp.status_code} {resp.text[:300]}")
        return resp

    def _redirected(self, method: str, path: str, op: str, ok: int, data: bytes | None = None,
                    **params) -> requests.Response:
        """OPEN and CREATE answer with a redirect to a DataNode, which does the work."""
        loc = self._call(method, path, op, ok=(307,), **params)
        resp = self.http.request(method, loc.headers["Location"], data=data, timeout=self.timeout)
        if resp.status_code != ok:
            raise IOError(f"webhdfs {op} {path}: {resp.status_code} {resp.text[:300]}")
        return resp

    def list(self, path: str) -> list[dict]:
        """The FileStatus of each entry of a directory; [] if there is no such directory."""
        resp = self._call("GET", path, "LISTSTATUS", ok=(200, 404))
        return [] if resp.status_code == 404 else resp.json()["FileStatuses"]["FileStatus"]

    def names(self, path: str) -> set[str]:
        return {s["pathSuffix"] for s in self.list(path)}

    def status(self, path: str) -> dict | None:
        """The path's FileStatus, or None if it does not exist."""
        resp = self._call("GET", path, "GETFILESTATUS", ok=(200, 404))
        return None if resp.status_code == 404 else resp.json()["FileStatus"]

    def exists(self, path: str) -> bool:
        return self.status(path) is not None

    def files(self, path: str) -> list[tuple[str, int]]:
        return [(f"{path.rstrip('/')}/{s['pathSuffix']}", s["length"]) for s in self.list(path) if s["type"] == "FILE"]

    def dirs(self, path: str) -> list[str]:
        return [f"{path.rstrip('/')}/{s['pathSuffix']}" for s in self.list(path) if s["type"] == "DIRECTORY"]

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        extra = {} if length is None else {"length": length}
        return self._redirected("GET", path, "OPEN", 200, offset=offset, **extra).content

    def create(self, path: str, data: bytes, overwrite: bool = False) -> None:
        self._redirected("PUT", path, "CREATE", 201, data=data, overwrite=str(overwrite).lower())

    def rename(self, src: str, dst: str) -> None:
        if not self._call("PUT", src, "RENAME", destination=dst).json()["boolean"]:
            raise IOError(f"could not rename {src} to {dst}")

    def rename_over(self, src: str, dst: str) -> None:
        # With rename options the NameNode takes rename2, which answers no boolean: it
        # succeeds or fails with an error status.
        self._call("PUT", src, "RENAME", destination=dst, renameoptions="OVERWRITE")

    def delete(self, path: str, recursive: bool = False) -> bool:
        return self._call("DELETE", path, "DELETE", recursive=str(recursive).lower()).json()["boolean"]

    def mkdirs(self, path: str) -> None:
        self._call("PUT", path, "MKDIRS")

    def concat(self, target: str, sources: list[str]) -> None:
        self._call("POST", target, "CONCAT", sources=",".join(sources))
