"""How efikit touches files: atomic replacement that keeps a file's owner, group and mode,
bounded reads that open only regular files, and advisory locks for read-modify-write cycles.

Every failure is an ``OSError`` (the refusals below are subclasses with a readable
``strerror``), so each caller wraps it once into its own ``efikit.Error`` naming the file.
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# --- refusals --------------------------------------------------------------------------------


class FileRefused(OSError):
    """A file efikit will not read or write as asked; ``strerror`` says why in words."""

    def __init__(self, code: int, reason: str, path: str | os.PathLike[str]) -> None:
        super().__init__(code, reason, os.fspath(path))


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
]


def kind_of(mode: int) -> str:
    """'a FIFO', 'a character device'... for a st_mode (for messages)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


# --- reading ---------------------------------------------------------------------------------

#: the largest single EFI variable efikit reads (firmware keeps whole variable stores in a few
#: hundred KiB of flash; the biggest real variables, dbx updates, are tens of KiB)
MAX_VARIABLE_SIZE = 1 << 20
MAX_VARIABLE_SIZE_TEXT = "the 1 MiB efikit accepts for one variable"


def open_regular(
    path: str | os.PathLike[str],
    flags: int = os.O_RDONLY,
    *,
    follow_symlinks: bool = True,
    allow_block_device: bool = False,
) -> int:
    """An fd of ``path`` opened with ``flags`` after making sure it is a regular file (or a block
    device when ``allow_block_device``). Opened non-blocking, so a FIFO cannot hang the open;
    with ``follow_symlinks=False`` a symbolic link is refused, never followed."""
    extra = os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags | extra)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise FileRefused(errno.ELOOP, "is a symbolic link; efikit does not follow it",
                              path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or (allow_block_device and stat.S_ISBLK(mode))):
            wanted = "a regular file or block device" if allow_block_device else "a regular file"
            raise FileRefused(errno.EINVAL, f"is {kind_of(mode)}, not {wanted}", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_file(path: str | os.PathLike[str], *, follow_symlinks: bool = True,
                      buffering: int = -1) -> BinaryIO:
    """``open(path, "rb")`` for a regular file only (see ``open_regular``)."""
    fd = open_regular(path, follow_symlinks=follow_symlinks)
    try:
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def read_fd_bounded(fd: int, limit: int, limit_text: str, name: str) -> bytes:
    """Everything ``fd`` holds, refusing (EFBIG) once more than ``limit`` bytes arrive."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise FileRefused(errno.EFBIG, f"is larger than {limit_text} ({limit} bytes)", name)
        chunks.append(chunk)


def read_regular(
    path: str | os.PathLike[str],
    limit: int,
    limit_text: str,
    *,
    follow_symlinks: bool = True,
) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them (``limit_text`` names the
    limit in the error, e.g. "the 64 MiB a flash varstore can be")."""
    fd = open_regular(path, follow_symlinks=follow_symlinks)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FileRefused(errno.EFBIG, f"is larger than {limit_text} ({limit} bytes)", path)
        return read_fd_bounded(fd, limit, limit_text, os.fspath(path))
    finally:
        os.close(fd)


def read_stream_bounded(stream: BinaryIO, limit: int, limit_text: str, name: str) -> bytes:
    """At most ``limit`` bytes from a stream (stdin), refusing (EFBIG) anything longer."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(errno.EFBIG, f"is larger than {limit_text} ({limit} bytes)", name)
    return data


# --- writing ---------------------------------------------------------------------------------


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written; a write that makes no progress is EIO."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write returned no progress")
        view = view[written:]


def current_umask() -> int:
    """The process umask, read without changing it (Linux /proc), else by setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replacement_target(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> Path:
    """The file a replacement of ``path`` really changes: a symbolic link's final target (so
    the link stays a link and its target gets the new contents). With ``follow_symlinks=False``
    a link is refused instead."""
    p = Path(path)
    if p.is_symlink():
        if not follow_symlinks:
            raise FileRefused(errno.ELOOP, "is a symbolic link; efikit does not write through it",
                              p)
        return Path(os.path.realpath(p))
    return p


def _existing(target: Path) -> os.stat_result | None:
    """The target's stat if it exists; refuses what a rename would silently damage."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(errno.EINVAL,
                          f"is {kind_of(st.st_mode)}, not a regular file; efikit replaces only "
                          "regular files", target)
    if st.st_nlink > 1:
        # A rename gives the name a new inode: the other names would keep the old contents,
        # and writing in place instead would give up crash safety. Neither is what was asked.
        raise FileRefused(errno.EMLINK,
                          f"has {st.st_nlink} hard links; replacing it would leave the other "
                          "names with the old contents (remove the extra links first)", target)
    return st


def _adopt_metadata(fd: int, target: Path, old: os.stat_result | None, new_mode: int | None,
                    umask: int) -> None:
    """Give the temp file the replaced file's owner, group and mode (a new file: ``new_mode``
    or what ``open()`` would give under the umask)."""
    if old is None:
        os.fchmod(fd, (new_mode if new_mode is not None else 0o666) & ~umask & 0o7777)
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except OSError as exc:
            raise FileRefused(
                exc.errno or errno.EPERM,
                f"cannot keep its owner {old.st_uid}:{old.st_gid} "
                f"({exc.strerror or exc}); efikit would have changed who owns it", target,
            ) from None
    os.fchmod(fd, old.st_mode & 0o7777)  # after fchown, which may clear set-id bits


@contextmanager
def replacing(
    path: Path,
    *,
    follow_symlinks: bool = True,
    new_mode: int | None = None,
) -> Iterator[tuple[int, Path]]:
    """A new temporary file next to ``path``'s real target (its open fd and its name) that
    replaces the target when the block ends normally; on an exception it is removed and the
    target is untouched.

    The block writes the content. Before the rename the temp file gets the replaced file's
    owner, group and mode (a new file: ``new_mode``, default 0o666, under the umask), and is
    fsynced; after it the directory is fsynced (best effort: the file is already replaced).
    A symbolic link is written through to its target (refused with ``follow_symlinks=False``);
    a hard-linked file or anything but a regular file is refused before anything is written.
    """
    import tempfile  # noqa: PLC0415 - only writers pay for it (`boot list` starts faster)

    target = replacement_target(path, follow_symlinks=follow_symlinks)
    _existing(target)  # refuse early, before a temp file exists
    directory = target.parent if str(target.parent) else Path(".")
    umask = current_umask()
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    temp = Path(temp_name)
    try:
        try:
            yield fd, temp
            old = _existing(target)
            _adopt_metadata(fd, target, old, new_mode, umask)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not follow_symlinks and target.is_symlink():
            raise FileRefused(errno.ELOOP, "became a symbolic link; efikit does not replace it",
                              target)
        os.replace(temp, target)
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


def atomic_write(path: Path, data: bytes, mode: int | None = None, *,
                 follow_symlinks: bool = True) -> None:
    """Replace ``path`` (through a symlink, its target) with ``data`` so that a crash leaves
    either the old or the new file. An existing file keeps its owner, group and mode; a new
    one gets ``mode`` (default 0o666) under the umask. See ``replacing``."""
    with replacing(path, follow_symlinks=follow_symlinks, new_mode=mode) as (fd, _):
        write_all(fd, data)


def create_exclusive(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write a new file that must not exist yet (O_EXCL; a symlink in its place is not
    followed), all or nothing: on any failure the partial file is removed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)


# --- locking ---------------------------------------------------------------------------------

#: how long a command waits for another efikit process to finish with the same store
LOCK_TIMEOUT = 60.0


class LockTimeout(FileRefused):
    """Another process held the lock for longer than the timeout."""


class _Held:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 1


_held: dict[tuple[int, int], _Held] = {}
_held_mutex = threading.Lock()


class DirectoryLock:
    """An exclusive advisory lock (flock) on a directory, held until ``release``.

    The directory is the stable object: a store file is replaced by rename, so a lock on
    the file's inode would be lost to the next writer, while the directory's inode stays.
    Re-entrant within a process (a second lock of the same directory shares the first).
    """

    def __init__(self, directory: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT) -> None:
        self.directory = Path(directory)
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        st = os.fstat(fd)
        self._key = (st.st_dev, st.st_ino)
        self._released = False
        with _held_mutex:
            held = _held.get(self._key)
            if held is not None:
                held.count += 1
                os.close(fd)
                return
        try:
            _flock_with_timeout(fd, self.directory, timeout)
        except BaseException:
            os.close(fd)
            raise
        with _held_mutex:
            _held[self._key] = _Held(fd)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _held_mutex:
            held = _held.get(self._key)
            if held is None:
                return
            held.count -= 1
            if held.count:
                return
            del _held[self._key]
        os.close(held.fd)  # closing the last fd drops the flock

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _flock_with_timeout(fd: int, directory: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EINTR):
                raise
        if time.monotonic() >= deadline:
            raise LockTimeout(errno.EWOULDBLOCK,
                              f"is locked by another process (waited {timeout:g} s)", directory)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
