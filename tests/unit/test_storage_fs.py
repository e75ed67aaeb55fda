"""The two HDFS clients against their one interface (storage.fs.FileSystem): the same
methods with the same signatures, so code typed with the interface runs over either."""
from __future__ import annotations

import inspect

import pytest

from game_events.storage.fs import FileSystem
from game_events.storage.hadoopfs import HadoopFs
from game_events.storage.webhdfs import WebHdfs

METHODS = sorted(name for name, value in vars(FileSystem).items() if callable(value) and not name.startswith("_"))


def test_the_interface_is_what_the_callers_ask_for():
    assert METHODS == ["concat", "create", "delete", "dirs", "exists", "files", "read", "rename", "rename_over"]


@pytest.mark.parametrize("client", [HadoopFs, WebHdfs])
def test_each_client_has_the_interfaces_signatures(client):
    def signatures(cls) -> dict[str, str | None]:
        return {name: str(inspect.signature(getattr(cls, name))) if hasattr(cls, name) else None for name in METHODS}

    assert signatures(client) == signatures(FileSystem)


class FakeHttp:
    """Answers WebHdfs's calls to the NameNode from a table of (method, op) -> JSON, and
    records each call's parameters."""

    def __init__(self, answers: dict):
        self.answers, self.calls = answers, []

    def request(self, method, url, params=None, **_):
        self.calls.append((method, url.split("/webhdfs/v1", 1)[1], params))
        answer = self.answers[(method, params["op"])]
        return type("Response", (), {"status_code": 200, "text": "", "json": lambda self: answer})()


def test_webhdfs_lists_files_and_dirs_by_their_paths_and_renames_over_in_one_call():
    listing = {"FileStatuses": {"FileStatus": [{"pathSuffix": "a.parquet", "type": "FILE", "length": 7},
                                               {"pathSuffix": "sub", "type": "DIRECTORY", "length": 0}]}}
    hdfs = WebHdfs("http://nn:1")
    hdfs.http = FakeHttp({("GET", "LISTSTATUS"): listing, ("PUT", "RENAME"): None})
    assert hdfs.files("/t/") == [("/t/a.parquet", 7)]
    assert hdfs.dirs("/t") == ["/t/sub"]
    hdfs.rename_over("/t/.new", "/t/a.parquet")
    method, path, params = hdfs.http.calls[-1]
    # With options the NameNode renames over the target (rename2) instead of refusing.
    assert (method, path, params["destination"], params["renameoptions"]) == ("PUT", "/t/.new", "/t/a.parquet",
                                                                              "OVERWRITE")


def test_hadoopfs_on_the_local_file_system(spark, tmp_path):
    fs, root = HadoopFs(spark), f"file://{tmp_path}"
    fs.create(f"{root}/d/a", b"0123456789")
    assert fs.exists(f"{root}/d/a") and not fs.exists(f"{root}/d/b")
    assert fs.read(f"{root}/d/a", 2, 3) == b"234"
    assert fs.read(f"{root}/d/a", 7) == b"789"
    with pytest.raises(Exception, match="already exists"):
        fs.create(f"{root}/d/a", b"again")
    fs.create(f"{root}/d/b", b"new", overwrite=True)
    assert sorted((p.rsplit("/", 1)[1], n) for p, n in fs.files(f"{root}/d")) == [("a", 10), ("b", 3)]
    assert [p.rsplit("/", 1)[1] for p in fs.dirs(root)] == ["d"]
    with pytest.raises(IOError):
        fs.rename(f"{root}/d/b", f"{root}/d/a")  # a plain rename never replaces
    fs.rename_over(f"{root}/d/b", f"{root}/d/a")
    assert fs.read(f"{root}/d/a") == b"new" and not fs.exists(f"{root}/d/b")
    assert fs.delete(root, True) and not fs.exists(root)
