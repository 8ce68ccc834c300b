"""Files on an EFI System Partition: a mounted directory, or the FAT file system inside a
disk image (through mtools, which reads FAT12/16/32; efikit has no FAT driver of its own).

ESP paths are written the firmware's way, ``\\EFI\\metropolis\\boot-a.efi``; forward slashes
work too. FAT is case-insensitive, and so is the lookup in a plain directory.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from efikit.errors import DiskError
from efikit.fileio import atomic_write


def esp_parts(esp_path: str) -> list[str]:
    """'\\EFI\\x\\y.efi' → ['EFI', 'x', 'y.efi']."""
    return [p for p in esp_path.replace("\\", "/").split("/") if p]


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

    def exists(self, esp_path: str) -> bool:
        return self.read(esp_path) is not None

    def size(self, esp_path: str) -> int | None:
        data = self.read(esp_path)
        return None if data is None else len(data)


class DirectoryEsp(EspFiles):
    """An ESP mounted (or laid out) as a directory."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise DiskError(f"ESP directory {root} does not exist")
        self.root = root

    def _resolve(self, esp_path: str, create_dirs: bool = False) -> Path | None:
        current = self.root
        parts = esp_parts(esp_path)
        for index, part in enumerate(parts):
            candidate = current / part
            if not candidate.exists():
                matches = [c for c in current.iterdir() if c.name.lower() == part.lower()] \
                    if current.is_dir() else []
                if matches:
                    candidate = matches[0]
                elif create_dirs and index < len(parts) - 1:
                    candidate.mkdir()
                elif create_dirs:
                    return candidate
                else:
                    return None
            current = candidate
        return current

    def read(self, esp_path: str) -> bytes | None:
        path = self._resolve(esp_path)
        if path is None or not path.is_file():
            return None
        return path.read_bytes()

    def size(self, esp_path: str) -> int | None:
        path = self._resolve(esp_path)
        if path is None or not path.is_file():
            return None
        return path.stat().st_size

    def list_files(self, esp_dir: str) -> list[str]:
        path = self._resolve(esp_dir)
        if path is None or not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir() if p.is_file())

    def replace(self, esp_path: str, data: bytes) -> None:
        path = self._resolve(esp_path, create_dirs=True)
        assert path is not None
        atomic_write(path, data)

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize


class ImageEsp(EspFiles):
    """The FAT file system of a partition inside a disk image, through mtools."""

    def __init__(self, image: Path, offset: int) -> None:
        if shutil.which("mcopy") is None:
            raise DiskError("reading the ESP inside a disk image needs mtools (mcopy, mdir); "
                            "install the Debian package mtools, or give --esp DIR")
        self.image = image
        self.offset = offset

    def _drive(self) -> str:
        return f"{self.image}@@{self.offset}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="0")
        result = subprocess.run(list(args), capture_output=True, env=env, check=False)
        if check and result.returncode != 0:
            raise DiskError(f"{args[0]} failed on {self.image}: "
                            f"{result.stderr.decode(errors='replace').strip()}")
        return result

    @staticmethod
    def _mpath(esp_path: str) -> str:
        return "::/" + "/".join(esp_parts(esp_path))

    def read(self, esp_path: str) -> bytes | None:
        result = self._run("mcopy", "-n", "-i", self._drive(), self._mpath(esp_path), "-",
                           check=False)
        if result.returncode != 0:
            return None
        return result.stdout

    def list_files(self, esp_dir: str) -> list[str]:
        result = self._run("mdir", "-b", "-i", self._drive(), self._mpath(esp_dir) + "/",
                           check=False)
        if result.returncode != 0:
            return []
        names = []
        for line in result.stdout.decode(errors="replace").splitlines():
            name = line.strip().rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
            if name and not line.strip().endswith("/"):
                names.append(name)
        return sorted(names)

    def _ensure_dirs(self, esp_path: str) -> None:
        parts = esp_parts(esp_path)[:-1]
        for depth in range(1, len(parts) + 1):
            self._run("mmd", "-i", self._drive(), self._mpath("/".join(parts[:depth])),
                      check=False)

    def replace(self, esp_path: str, data: bytes) -> None:
        self._ensure_dirs(esp_path)
        parts = esp_parts(esp_path)
        temp_name = "/".join(parts[:-1] + ["EFIKIT.TMP"])
        with tempfile.NamedTemporaryFile() as handle:
            handle.write(data)
            handle.flush()
            self._run("mcopy", "-o", "-n", "-i", self._drive(), handle.name, self._mpath(temp_name))
        # FAT has no atomic rename over an existing file: the old loader goes only once the
        # new one is completely written.
        self._run("mdel", "-i", self._drive(), self._mpath(esp_path), check=False)
        self._run("mren", "-i", self._drive(), self._mpath(temp_name), parts[-1])

    def free_bytes(self) -> int:
        result = self._run("mdir", "-i", self._drive(), "::/")
        for line in result.stdout.decode(errors="replace").splitlines():
            if "bytes free" in line:
                digits = "".join(ch for ch in line.split("bytes free")[0] if ch.isdigit())
                return int(digits)
        raise DiskError(f"mdir did not report free space on {self.image}")
