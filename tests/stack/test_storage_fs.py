"""WebHdfs against the real NameNode, through the interface both HDFS clients share
(storage.fs.FileSystem); tests/unit/test_storage_fs.py takes the same steps with HadoopFs on
the local file system."""
from __future__ import annotations

import pytest

from game_events.storage.webhdfs import WebHdfs
from tests.support.file_system import keeps_the_interfaces_promises

pytestmark = pytest.mark.timeout(120)


def test_webhdfs_keeps_the_interfaces_promises(infra, tag):
    keeps_the_interfaces_promises(WebHdfs(), f"/tmp/test-storage-fs-{tag}")
