"""The two HDFS clients against their one interface (storage.fs.FileSystem): the same
methods with the same signatures, so code typed with the interface runs over either."""
from __future__ import annotations

import inspect

import pytest

from game_events.storage.fs import FileSystem
from game_events.storage.hadoopfs import HadoopFs
from game_events.storage.webhdfs import WebHdfs
from tests.support.file_system import keeps_the_interfaces_promises

METHODS = sorted(name for name, value in vars(FileSystem).items() if callable(value) and not name.startswith("_"))


def test_the_interface_is_what_the_callers_ask_for():
    assert METHODS == ["concat", "create", "delete", "dirs", "exists", "files", "read", "rename", "rename_over"]


@pytest.mark.parametrize("client", [HadoopFs, WebHdfs])
def test_each_client_has_the_interfaces_signatures(client):
    def signatures(cls) -> dict[str, str | None]:
        return {name: str(inspect.signature(getattr(cls, name))) if hasattr(cls, name) else None for name in METHODS}

    assert signatures(client) == signatures(FileSystem)


def test_hadoopfs_on_the_local_file_system(spark, tmp_path):
    keeps_the_interfaces_promises(HadoopFs(spark), f"file://{tmp_path}/fs")
