"""Atomic file replacement shared by the file-backed stores."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from efikit.errors import StoreError


def atomic_write(target: Path, content: bytes) -> None:
    """Replace ``target`` with ``content``: temp file in the same directory, fsync, rename."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        mode = 0o644
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        try:
            view = memoryview(content)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(errno.EIO, "write returned no progress")
                view = view[written:]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise StoreError(
            f"cannot write {target}: {exc.strerror or exc}; the file was left unchanged"
        ) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
