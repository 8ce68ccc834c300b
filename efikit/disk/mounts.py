"""The running system's mounts (``/proc/self/mountinfo``) and the disk partition behind a
mounted block device (sysfs ``/sys/dev/block/MAJOR:MINOR``: ``partition``, ``start``,
``size``, and its parent disk).

The roots are parameters so that a test can lay out a fake ``/proc``, ``/sys`` and ``/dev``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from efikit.errors import DiskError

MOUNTINFO = "/proc/self/mountinfo"
SYSFS = "/sys"
DEVFS = "/dev"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_MAX_MOUNTINFO = 16 * 1024 * 1024


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: a file system mounted at ``mount_point``."""

    mount_point: str
    fs_type: str
    source: str
    major: int
    minor: int
    root: str  # the directory of the file system mounted there ("/" unless a bind mount)


@dataclass(frozen=True)
class BlockPartition:
    """A partition as the kernel sees it; sectors are sysfs's 512-byte units."""

    device: str  # e.g. /dev/vda1
    disk: str  # the whole disk, e.g. /dev/vda
    number: int
    start_sectors: int
    size_sectors: int


def _unescape(field: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Every well-formed line of a mountinfo file (proc(5)), in order."""
    mounts = []
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(" "), after.split(" ")
        if not sep or len(fields) < 6 or len(tail) < 2 or ":" not in fields[2]:
            continue
        major, _, minor = fields[2].partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        mounts.append(Mount(_unescape(fields[4]), tail[0], _unescape(tail[1]), int(major),
                            int(minor), _unescape(fields[3])))
    return mounts


def read_mounts(mountinfo: str | os.PathLike[str] = MOUNTINFO) -> list[Mount]:
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            text = f.read(_MAX_MOUNTINFO)
    except OSError as exc:
        raise DiskError(f"cannot read {mountinfo}: {exc.strerror}") from None
    return parse_mountinfo(text)


def mount_of(path: str | os.PathLike[str], mounts: list[Mount]) -> Mount | None:
    """The mount whose mount point is ``path`` itself (symlinks resolved), or None."""
    real = os.path.realpath(path)
    found = [m for m in mounts if m.mount_point == real]
    return found[-1] if found else None  # the last one mounted there is the visible one


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise DiskError(f"cannot read {path}: {exc}") from None


def partition_of(major: int, minor: int, sysfs: str | os.PathLike[str] = SYSFS,
                 devfs: str | os.PathLike[str] = DEVFS) -> BlockPartition | None:
    """The partition with device number ``major:minor``; None when it is not a partition
    (a whole disk, a loop device without partitions, a virtual file system)."""
    node = Path(sysfs) / "dev" / "block" / f"{major}:{minor}"
    if not (node / "partition").is_file():
        return None
    real = node.resolve()
    number = _read_int(node / "partition")
    start = _read_int(node / "start")
    size = _read_int(node / "size")
    devfs = Path(devfs)
    return BlockPartition(str(devfs / real.name), str(devfs / real.parent.name), number, start,
                          size)
