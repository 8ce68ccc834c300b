"""Files on an EFI System Partition: a mounted directory, or the FAT file system inside a
disk image (through mtools, which reads FAT12/16/32; efikit has no FAT driver of its own).

ESP paths are written the firmware's way, ``\\EFI\\metropolis\\boot-a.efi``; forward slashes
work too. FAT is case-insensitive, and so is the lookup in a plain directory.

Every path stays inside the ESP, as on FAT itself: ``.`` and ``..`` are resolved by name
(``..`` above the root names no file: a read finds nothing, a write is refused), and in a
directory ESP no symbolic link is followed (FAT has none): each component is opened relative
to its parent with O_NOFOLLOW, and a link is refused with DiskError. A disk image is handed to
mtools as ``/proc/self/fd/N@@OFFSET``, so no character of its file name (``@@``, ``:``) can
be read as mtools syntax.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from efikit.errors import DiskError
from efikit.fileio import atomic_write, open_regular, read_fd_bounded

#: the largest file efikit reads from an ESP (a FAT32 file cannot be larger)
MAX_ESP_FILE = (1 << 32) - 1
MAX_ESP_FILE_TEXT = "the 4 GiB a FAT file can be"


class EspPathEscapes(ValueError):
    """An ESP path whose ``..`` climbs above the ESP's root."""


def esp_parts(esp_path: str) -> list[str]:
    """'\\EFI\\x\\y.efi' → ['EFI', 'x', 'y.efi'], with '.' and '..' resolved by name;
    EspPathEscapes when '..' climbs above the root."""
    parts: list[str] = []
    for part in esp_path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise EspPathEscapes(esp_path)
            parts.pop()
            continue
        parts.append(part)
    return parts


def _parts_or_none(esp_path: str) -> list[str] | None:
    try:
        return esp_parts(esp_path)
    except EspPathEscapes:
        return None


def _parts_for_write(esp_path: str) -> list[str]:
    try:
        parts = esp_parts(esp_path)
    except EspPathEscapes:
        raise DiskError(f"ESP path {esp_path!r} climbs above the ESP's root with '..': "
                        "refusing to write outside the ESP") from None
    if not parts:
        raise DiskError(f"ESP path {esp_path!r} names no file")
    return parts


class EspFiles(ABC):
    """Read and replace files on an ESP."""

    @abstractmethod
    def read(self, esp_path: str) -> bytes | None:
        """The file's bytes, or None if it does not exist."""

    @abstractmethod
    def list_files(self, esp_dir: str) -> list[str]:
        """File names (not directories) in a directory; [] if it does not exist."""

    @abstractmethod
    def replace(self, esp_path: str, data: bytes) -> None:
        """Write the file so that a crash leaves the old or the new one (creates directories)."""

    @abstractmethod
    def free_bytes(self) -> int:
        """Free space on the file system."""

    def describe(self) -> str:
        """What this ESP is, for messages and commands (``--esp DIR`` / ``--disk IMAGE``)."""
        return "the ESP"

    def exists(self, esp_path: str) -> bool:
        return self.read(esp_path) is not None

    def size(self, esp_path: str) -> int | None:
        data = self.read(esp_path)
        return None if data is None else len(data)


# --- a directory --------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class DirectoryEsp(EspFiles):
    """An ESP mounted (or laid out) as a directory."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise DiskError(f"ESP directory {root} does not exist")
        self.root = root

    def describe(self) -> str:
        return f"the ESP directory {self.root}"

    def _where(self, esp_path: str) -> str:
        return f"{esp_path} in {self.describe()}"

    def _refuse_link(self, esp_path: str, name: str) -> DiskError:
        return DiskError(f"{self._where(esp_path)}: {name!r} is a symbolic link; efikit does not "
                         "follow links on an ESP (FAT has none), so nothing leaves the ESP")

    @staticmethod
    def _match(dir_fd: int, name: str) -> str | None:
        """The entry of ``dir_fd`` called ``name``, compared case-insensitively as FAT does
        (an exact match wins)."""
        try:
            os.lstat(name, dir_fd=dir_fd)
            return name
        except FileNotFoundError:
            pass
        folded = name.casefold()
        matches = sorted(n for n in os.listdir(dir_fd) if n.casefold() == folded)
        return matches[0] if matches else None

    @contextmanager
    def _directory(self, esp_path: str, parts: list[str],
                   create: bool = False) -> Iterator[int | None]:
        """An fd of the directory ``parts`` (relative to the root), walked one component at a
        time without following a link; None when one on the way is missing and not ``create``
        (then it is made)."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts:
                name = self._match(fd, part)
                if name is None:
                    if not create:
                        yield None
                        return
                    os.mkdir(part, 0o777, dir_fd=fd)
                    name = part
                mode = os.lstat(name, dir_fd=fd).st_mode
                if stat.S_ISLNK(mode):
                    raise self._refuse_link(esp_path, name)
                if not stat.S_ISDIR(mode):
                    if create:
                        raise DiskError(f"{self._where(esp_path)}: {name!r} is not a directory")
                    yield None
                    return
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_file(self, esp_path: str) -> int | None:
        """An fd of the regular file at ``esp_path``, or None when there is none."""
        parts = _parts_or_none(esp_path)
        if not parts:
            return None
        with self._directory(esp_path, parts[:-1]) as dir_fd:
            if dir_fd is None:
                return None
            name = self._match(dir_fd, parts[-1])
            if name is None:
                return None
            mode = os.lstat(name, dir_fd=dir_fd).st_mode
            if stat.S_ISLNK(mode):
                raise self._refuse_link(esp_path, name)
            if not stat.S_ISREG(mode):
                return None
            return open_regular(f"/proc/self/fd/{dir_fd}/{name}", follow_symlinks=False)

    def read(self, esp_path: str) -> bytes | None:
        fd = self._open_file(esp_path)
        if fd is None:
            return None
        try:
            return read_fd_bounded(fd, MAX_ESP_FILE, MAX_ESP_FILE_TEXT, self._where(esp_path))
        finally:
            os.close(fd)

    def size(self, esp_path: str) -> int | None:
        fd = self._open_file(esp_path)
        if fd is None:
            return None
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def list_files(self, esp_dir: str) -> list[str]:
        parts = _parts_or_none(esp_dir)
        if parts is None:
            return []
        with self._directory(esp_dir, parts) as dir_fd:
            if dir_fd is None:
                return []
            return sorted(n for n in os.listdir(dir_fd)
                          if stat.S_ISREG(os.lstat(n, dir_fd=dir_fd).st_mode))

    def replace(self, esp_path: str, data: bytes) -> None:
        parts = _parts_for_write(esp_path)
        try:
            with self._directory(esp_path, parts[:-1], create=True) as dir_fd:
                assert dir_fd is not None
                name = self._match(dir_fd, parts[-1]) or parts[-1]
                # The directory is reached through its open fd: nothing on the way can be
                # swapped for a link between the walk and the rename.
                target = Path(f"/proc/self/fd/{dir_fd}") / name
                try:
                    atomic_write(target, data, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        raise self._refuse_link(esp_path, name) from None
                    raise
        except OSError as exc:
            raise DiskError(f"cannot write {self._where(esp_path)}: "
                            f"{exc.strerror or exc}") from None

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize


# --- a disk image, through mtools -----------------------------------------------------------

class ImageEsp(EspFiles):
    """The FAT file system of a partition inside a disk image, through mtools."""

    TEMP_NAME = "EFIKIT.TMP"
    OLD_NAME = "EFIKIT.OLD"

    def __init__(self, image: Path, offset: int) -> None:
        if shutil.which("mcopy") is None:
            raise DiskError("reading the ESP inside a disk image needs mtools (mcopy, mdir); "
                            "install the Debian package mtools, or give --esp DIR")
        self.image = image
        self.offset = offset
        try:
            self._fd: int | None = open_regular(image, allow_block_device=True)
        except OSError as exc:
            raise DiskError(f"cannot open the disk {image}: {exc.strerror or exc}") from None

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            self._fd = None
            os.close(fd)

    def describe(self) -> str:
        return f"the ESP in {self.image}"

    def _drive(self) -> str:
        # mtools splits "-i FILE@@OFFSET" at the first "@@": the image's own name never gets
        # there, only this fd's path (the child inherits the fd, see _run).
        return f"/proc/self/fd/{self._fd}@@{self.offset}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        if self._fd is None:
            raise DiskError(f"{self.describe()} is closed")
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="0")
        result = subprocess.run(list(args), capture_output=True, env=env, check=False,
                                pass_fds=(self._fd,), stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise DiskError(f"{args[0]} failed on {self.image}: "
                            f"{_first_line(result.stderr) or f'exit code {result.returncode}'}")
        return result

    @staticmethod
    def _mpath(parts: list[str]) -> str:
        return "::/" + "/".join(parts)

    def read(self, esp_path: str) -> bytes | None:
        parts = _parts_or_none(esp_path)
        if not parts:
            return None
        result = self._run("mcopy", "-n", "-i", self._drive(), self._mpath(parts), "-",
                           check=False)
        if result.returncode != 0:
            return None
        return result.stdout

    def list_files(self, esp_dir: str) -> list[str]:
        parts = _parts_or_none(esp_dir)
        if parts is None:
            return []
        result = self._run("mdir", "-b", "-i", self._drive(), self._mpath(parts) + "/",
                           check=False)
        if result.returncode != 0:
            return []
        names = []
        for line in result.stdout.decode(errors="replace").splitlines():
            name = line.strip().rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
            if name and not line.strip().endswith("/"):
                names.append(name)
        return sorted(names)

    def _ensure_dirs(self, parts: list[str]) -> None:
        for depth in range(1, len(parts)):
            self._run("mmd", "-i", self._drive(), self._mpath(parts[:depth]), check=False)

    def _delete(self, parts: list[str]) -> bool:
        return self._run("mdel", "-i", self._drive(), self._mpath(parts),
                         check=False).returncode == 0

    def _rename(self, parts: list[str], new_name: str) -> None:
        self._run("mren", "-D", "o", "-i", self._drive(), self._mpath(parts), new_name)

    def replace(self, esp_path: str, data: bytes) -> None:
        """FAT has no atomic rename over an existing file. The new file is written completely
        under a temporary name; then the old one is renamed aside, the new one takes its name,
        and only then is the old one deleted. A failure at any point puts the old file back
        under its name and removes the temporary ones."""
        parts = _parts_for_write(esp_path)
        directory = parts[:-1]
        temp, old = directory + [self.TEMP_NAME], directory + [self.OLD_NAME]
        self._ensure_dirs(parts)
        self._delete(temp)
        self._delete(old)
        exists = self.read(esp_path) is not None
        with tempfile.NamedTemporaryFile() as handle:
            handle.write(data)
            handle.flush()
            try:
                self._run("mcopy", "-o", "-n", "-i", self._drive(), handle.name,
                          self._mpath(temp))
            except DiskError:
                self._delete(temp)
                raise
        try:
            if exists:
                self._rename(parts, self.OLD_NAME)
        except DiskError:
            self._delete(temp)
            raise
        try:
            self._rename(temp, parts[-1])
        except DiskError as exc:
            if exists:
                try:
                    self._rename(old, parts[-1])
                except DiskError as again:
                    raise DiskError(f"{exc}; and putting the old file back failed ({again}): "
                                    f"it is {self._mpath(old)} on {self.describe()}") from None
            self._delete(temp)
            raise
        if exists:
            self._delete(old)  # best effort: the next replace removes a leftover first

    def free_bytes(self) -> int:
        result = self._run("mdir", "-i", self._drive(), "::/")
        for line in result.stdout.decode(errors="replace").splitlines():
            if "bytes free" in line:
                digits = "".join(ch for ch in line.split("bytes free")[0] if ch.isdigit())
                return int(digits)
        raise DiskError(f"mdir did not report free space on {self.image}")


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()
             if line.strip()]
    return lines[0] if lines else ""
