"""The steps every HDFS client of the package must take alike (storage.fs.FileSystem): run
by the unit layer with HadoopFs on the local file system, by the stack layer with WebHdfs
against the real NameNode."""
from __future__ import annotations

import pytest


def keeps_the_interfaces_promises(fs, root: str) -> None:
    """Runs every method of the interface under root, a folder that does not exist yet,
    and removes it again."""
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
