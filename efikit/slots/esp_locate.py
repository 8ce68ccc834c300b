"""Find the EFI System Partition of a disk image or block device, and open its files.

The ESP is the GPT partition of type C12A7328-F81F-11D2-BA4B-00A0C93EC93B. Its number,
partition GUID, start and size are what a Boot#### entry's ``HD()`` node holds; its byte
offset is where mtools finds the FAT file system inside the image.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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


def open_esp_files(esp_dir: str | Path | None, location: EspLocation | None) -> EspFiles | None:
    """The ESP's files: the mounted directory if given, else the FAT inside the disk image."""
    from efikit.disk.esp import DirectoryEsp, ImageEsp

    if esp_dir is not None:
        return DirectoryEsp(Path(esp_dir))
    if location is not None:
        return ImageEsp(Path(location.disk), location.byte_offset)
    return None
