"""Atomic file replacement: temp file in the same directory, fsync, rename, fsync the dir."""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[tuple[int, Path]]:
    """A new temporary file next to ``path`` (its open fd and its name) that replaces ``path``
    when the block ends normally; on an exception it is removed and ``path`` is untouched.

    The block writes (and fsyncs) the content; the fd is closed afterwards. The rename is
    followed by a best-effort fsync of the directory (the file itself is already replaced).
    """
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    temp = Path(temp_name)
    try:
        try:
            yield fd, temp
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write returned no progress")
        view = view[written:]


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    The new file gets ``mode``, by default the old file's mode (0o644 for a new file).
    """
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o644
    with replacing(path) as (fd, _):
        write_all(fd, data)
        os.fchmod(fd, mode)
        os.fsync(fd)
