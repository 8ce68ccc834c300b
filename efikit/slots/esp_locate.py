"""Find the EFI System Partition of a disk image or block device, and open its files.

The ESP is the GPT partition of type C12A7328-F81F-11D2-BA4B-00A0C93EC93B. Its number,
partition GUID, start and size are what a Boot#### entry's ``HD()`` node holds; its byte
offset is where mtools finds the FAT file system inside the image.

On a running system the ESP is found among the mounted FAT file systems: the partition behind
each one (sysfs) is looked up in its disk's GPT, and the one the slot entries' ``HD()`` nodes
name (by partition GUID) wins; without slot entries, the one mounted GPT ESP.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from efikit.disk import mounts
from efikit.disk.gpt import read_gpt
from efikit.errors import DiskError

if TYPE_CHECKING:
    from efikit.codec.devpath import HardDriveNode
    from efikit.disk.esp import EspFiles


@dataclass(frozen=True)
class EspLocation:
    """One ESP: where it is on the disk, and the warnings met while finding it."""

    disk: str
    number: int
    partition_guid: uuid.UUID
    start_lba: int
    size_lba: int
    sector_size: int
    warnings: tuple[str, ...] = ()

    @property
    def byte_offset(self) -> int:
        return self.start_lba * self.sector_size

    @property
    def size_bytes(self) -> int:
        return self.size_lba * self.sector_size

    def hd_node(self) -> HardDriveNode:
        from efikit.codec.devpath import HardDriveNode

        return HardDriveNode.gpt(self.number, self.partition_guid, self.start_lba, self.size_lba)

    def matches(self, node: object) -> bool:
        """Whether an ``HD()`` node names this partition (number, GUID, start and size)."""
        from efikit.codec.devpath import HardDriveNode

        return (isinstance(node, HardDriveNode)
                and node.partition_guid == self.partition_guid
                and node.partition_number == self.number
                and node.partition_start == self.start_lba
                and node.partition_size == self.size_lba)


def locate_esp(disk: str | Path) -> EspLocation:
    """The first ESP of the GPT on ``disk`` (an image or a block device); DiskError if none."""
    table = read_gpt(disk)
    esps = [p for p in table.partitions if p.is_esp]
    if not esps:
        listed = ", ".join(f"{p.number}: {p.type_name or p.type_guid}" for p in table.partitions)
        raise DiskError(f"{disk}: no EFI System Partition in the GPT (partitions: "
                        f"{listed or 'none'})")
    warnings = list(table.warnings)
    if len(esps) > 1:
        warnings.append("several EFI System Partitions (" + ", ".join(str(p.number) for p in esps)
                        + f"); using partition {esps[0].number}")
    first = esps[0]
    return EspLocation(str(disk), first.number, first.partition_guid, first.first_lba,
                       first.size_lba, table.sector_size, tuple(warnings))


def location_of_partition(partition: mounts.BlockPartition) -> tuple[EspLocation, bool]:
    """The GPT facts of a partition the kernel knows, read from its disk's partition table,
    and whether its type is the ESP's."""
    table = read_gpt(partition.disk)
    entry = table.partition(partition.number)
    return (EspLocation(partition.disk, entry.number, entry.partition_guid, entry.first_lba,
                        entry.size_lba, table.sector_size, table.warnings), entry.is_esp)


@dataclass(frozen=True)
class MountedEsp:
    directory: Path
    location: EspLocation
    is_esp_type: bool


def mounted_fat_partitions(mountinfo: str | os.PathLike[str] = mounts.MOUNTINFO,
                           sysfs: str | os.PathLike[str] = mounts.SYSFS,
                           devfs: str | os.PathLike[str] = mounts.DEVFS,
                           ) -> tuple[list[MountedEsp], list[str]]:
    """Every mounted FAT file system on a GPT partition (once per partition), and why other
    FAT mounts were passed over."""
    found: list[MountedEsp] = []
    skipped: list[str] = []
    seen: set[tuple[int, int]] = set()
    for mount in mounts.read_mounts(mountinfo):
        if mount.fs_type not in ("vfat", "msdos") or mount.root != "/":
            continue
        if (mount.major, mount.minor) in seen:
            continue
        partition = mounts.partition_of(mount.major, mount.minor, sysfs, devfs)
        if partition is None:
            skipped.append(f"{mount.mount_point} ({mount.source}) is not on a disk partition")
            continue
        try:
            location, is_esp = location_of_partition(partition)
        except DiskError as exc:
            skipped.append(f"{mount.mount_point}: {exc}")
            continue
        seen.add((mount.major, mount.minor))
        found.append(MountedEsp(Path(mount.mount_point), location, is_esp))
    return found, skipped


def find_mounted_esp(wanted: Sequence[uuid.UUID] = (),
                     mountinfo: str | os.PathLike[str] = mounts.MOUNTINFO,
                     sysfs: str | os.PathLike[str] = mounts.SYSFS,
                     devfs: str | os.PathLike[str] = mounts.DEVFS) -> MountedEsp:
    """The mounted ESP of a running system: the mounted FAT partition whose GPT partition GUID
    is one of ``wanted`` (the slot entries' ``HD()`` GUIDs), else the one mounted partition
    of the ESP type. DiskError when there is none, or several and nothing tells them apart."""
    candidates, skipped = mounted_fat_partitions(mountinfo, sysfs, devfs)
    for guid in wanted:
        for candidate in candidates:
            if candidate.location.partition_guid == guid:
                return candidate
    esps = [c for c in candidates if c.is_esp_type]
    why = f" ({'; '.join(skipped)})" if skipped else ""
    if not esps:
        raise DiskError("no EFI System Partition is mounted (no FAT file system in "
                        f"{mountinfo} is on a GPT partition of the ESP type){why}; mount it, or "
                        "give --esp DIR or --disk DEVICE")
    if len(esps) > 1:
        listed = ", ".join(f"{c.directory} ({c.location.disk} partition {c.location.number})"
                           for c in esps)
        raise DiskError(f"several EFI System Partitions are mounted ({listed}) and no slot "
                        "entry names one of them: give --esp DIR")
    chosen = esps[0]
    if wanted:
        names = ", ".join(str(g).upper() for g in wanted)
        warning = (f"the slot entries name partition {names}, which is not mounted; using the "
                   f"mounted ESP {chosen.directory}")
        location = chosen.location
        chosen = MountedEsp(chosen.directory, EspLocation(
            location.disk, location.number, location.partition_guid, location.start_lba,
            location.size_lba, location.sector_size, location.warnings + (warning,)), True)
    return chosen


def location_of_directory(directory: str | os.PathLike[str],
                          mountinfo: str | os.PathLike[str] = mounts.MOUNTINFO,
                          sysfs: str | os.PathLike[str] = mounts.SYSFS,
                          devfs: str | os.PathLike[str] = mounts.DEVFS) -> EspLocation | None:
    """Where the file system mounted at ``directory`` lies on its disk, if it is a GPT
    partition's mount point (else None: a plain directory, an unreadable disk)."""
    try:
        mount = mounts.mount_of(directory, mounts.read_mounts(mountinfo))
        if mount is None or mount.root != "/":
            return None
        partition = mounts.partition_of(mount.major, mount.minor, sysfs, devfs)
        return None if partition is None else location_of_partition(partition)[0]
    except DiskError:
        return None


def open_esp_files(esp_dir: str | Path | None, location: EspLocation | None) -> EspFiles | None:
    """The ESP's files: the mounted directory if given, else the FAT inside the disk image."""
    from efikit.disk.esp import DirectoryEsp, ImageEsp

    if esp_dir is not None:
        return DirectoryEsp(Path(esp_dir))
    if location is not None:
        return ImageEsp(Path(location.disk), location.byte_offset)
    return None
