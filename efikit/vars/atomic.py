"""What the file-backed stores (edk2, JSON) share: the bounded read, the store lock and the
atomic write, each failing with a StoreError that names the file.

A store opened with ``lock=True`` (what the CLI does) holds an exclusive advisory lock on the
file's directory (see ``fileio.DirectoryLock``) from before it reads the file until
``close()``: two efikit processes changing the same store run one after the other, and the
second plans against what the first wrote. Without it (the library default, so that a
program may keep a store open for reading while others write) the lock is taken only around
each save, and a save refuses to overwrite a file that is no longer the one that was read
(another efikit process or another tool replaced it): nothing is lost, the change fails.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from efikit import fileio
from efikit.errors import StoreError

#: the largest edk2 flash image efikit reads (SPI flash parts top out at 64 MiB)
MAX_FLASH_SIZE = 64 << 20
MAX_FLASH_TEXT = "the 64 MiB a flash image can be"
#: a JSON export of the largest flash image, in hex with its framing
MAX_JSON_SIZE = 4 * MAX_FLASH_SIZE
MAX_JSON_TEXT = "the 256 MiB a JSON export of a flash image can be"


def _reason(exc: OSError) -> str:
    return str(exc.strerror or exc)


def atomic_write(target: Path, content: bytes) -> None:
    """Replace ``target`` with ``content`` (temp file, fsync, rename; owner, group and mode
    kept; through a symlink to its target); StoreError if it fails."""
    try:
        fileio.atomic_write(target, content)
    except OSError as exc:
        raise StoreError(
            f"cannot write {target}: {_reason(exc)}; the file was left unchanged"
        ) from None


def create_new(target: Path, content: bytes) -> None:
    """Write a new file that must not exist yet (a backup); FileExistsError if it does,
    StoreError for anything else (and then no file is left behind)."""
    try:
        fileio.create_exclusive(target, content)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {_reason(exc)}; nothing was written") from None


def read_store_file(path: Path, limit: int, limit_text: str, what: str) -> tuple[bytes, object]:
    """The bytes of a store file (a regular file, at most ``limit`` bytes) and its identity
    (what ``changed_since`` compares)."""
    try:
        fd = fileio.open_regular(path)
        try:
            identity = _identity(os.fstat(fd))
            if os.fstat(fd).st_size > limit:
                raise fileio.FileRefused(errno.EFBIG,
                                         f"is larger than {limit_text} ({limit} bytes)", path)
            data = fileio.read_fd_bounded(fd, limit, limit_text, os.fspath(path))
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot read {what} {path}: {_reason(exc)}") from None
    return data, identity


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_identity(path: Path) -> object:
    """What ``read_store_file`` returned as identity, for the file ``path`` names now."""
    try:
        return _identity(os.stat(path))
    except OSError:
        return None


def lock_store(path: Path) -> fileio.DirectoryLock | None:
    """Lock the directory holding ``path``'s real file (see ``lock_directory``)."""
    directory = fileio.replacement_target(path).parent
    return lock_directory(directory if str(directory) else Path("."), path)


def lock_directory(directory: Path, store: Path) -> fileio.DirectoryLock | None:
    """Lock ``directory`` for ``store``; None where the directory cannot even be opened for
    locking (then the store is used unlocked and only the change checks protect it)."""
    try:
        return fileio.DirectoryLock(directory)
    except fileio.LockTimeout as exc:
        raise StoreError(f"variable store {store}: directory {exc.filename} {_reason(exc)}; "
                         "nothing was read or changed") from None
    except OSError:
        return None


StoreT = TypeVar("StoreT", bound="FileBacked")


def open_file_store(path: Path, lock: bool, limit: int, limit_text: str, what: str,
                    build: Callable[[bytes], StoreT]) -> StoreT:
    """Lock (with ``lock``), read ``path`` bounded by ``limit`` and ``build`` the store from its
    bytes; the store keeps the lock and the file's identity. The lock is released if any of it
    fails."""
    held = lock_store(path) if lock else None
    try:
        content, identity = read_store_file(path, limit, limit_text, what)
        store = build(content)
    except BaseException:
        if held is not None:
            held.release()
        raise
    store._lock, store._identity = held, identity
    return store


class FileBacked:
    """Mixin for a store held in memory and written to ``path`` as a whole: outside a batch
    every change is saved at once (``_flush``); ``save`` writes ``_file_bytes()`` atomically.

    ``_lock`` (held since before the file was read) is released by ``close()``;
    ``_identity`` is the file as read, so that ``save`` refuses to overwrite a file that
    another program replaced in the meantime.
    """

    source: str
    path: Path | None
    _lock: fileio.DirectoryLock | None = None
    _identity: object = None

    def _file_bytes(self) -> bytes:
        raise NotImplementedError

    def _flush(self) -> None:
        if self.path is not None:
            self.save()

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the store atomically to ``path`` (default: the file it was opened from)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise StoreError(f"{self.source} was not opened from a file: give save() a path")
        to_self = path is None or (self.path is not None and _same(target, self.path))
        held = lock_store(target) if to_self and self._lock is None else None
        try:
            if to_self and self._identity is not None and file_identity(target) != self._identity:
                raise StoreError(
                    f"{target} changed since efikit read it (another program wrote it); "
                    "nothing was written: run the command again"
                )
            atomic_write(target, self._file_bytes())
            if to_self and self._identity is not None:
                self._identity = file_identity(target)
        finally:
            if held is not None:
                held.release()

    def close(self) -> None:
        """Release the store's lock (the store stays readable in memory)."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)
