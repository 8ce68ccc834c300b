"""GPT reader for disk images and block devices (UEFI spec 5.3).

Reads the protective MBR (LBA 0), the primary header (LBA 1) and its partition entry array,
checking both CRC32s; when the primary is damaged it falls back to the backup header at the
disk's last LBA. Sector sizes 512 and 4096: a block device reports its own (BLKSSZGET), an
image is probed for the "EFI PART" signature at LBA 1 of either size.

For each partition it builds the values of the ``HD(part,GPT,guid,start,size)`` device-path
node that a Boot#### entry for a file on that partition starts with.
"""
from __future__ import annotations

import fcntl
import os
import stat
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from efikit import fileio
from efikit.errors import DiskError

if TYPE_CHECKING:
    from efikit.codec.devpath import HardDriveNode

GPT_SIGNATURE = b"EFI PART"
HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")  # 92 bytes
ENTRY = struct.Struct("<16s16sQQQ72s")  # 128 bytes
ESP_TYPE = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
BASIC_DATA_TYPE = uuid.UUID("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7")
LINUX_FS_TYPE = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")
BLKSSZGET = 0x1268
SECTOR_SIZES = (512, 4096)
MAX_ENTRY_ARRAY = 16 * 1024 * 1024  # refuse absurd entry counts before reading them

PARTITION_TYPE_NAMES = {
    ESP_TYPE: "EFI System",
    BASIC_DATA_TYPE: "Microsoft basic data",
    LINUX_FS_TYPE: "Linux filesystem",
    uuid.UUID("21686148-6449-6e6f-744e-656564454649"): "BIOS boot",
    uuid.UUID("0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"): "Linux swap",
    uuid.UUID("e6d6d379-f507-44c2-a23c-238f2a3df928"): "Linux LVM",
    uuid.UUID("a19d880f-05fc-4d3b-a006-743f0f84911e"): "Linux RAID",
    uuid.UUID("4f68bce3-e8cd-4db1-96e7-fbcaf984b709"): "Linux root (x86-64)",
    uuid.UUID("bc13c2ff-59e6-4262-a352-b275fd6f7172"): "Linux extended boot",
    uuid.UUID("e3c9e316-0b5c-4db8-817d-f92df00215ae"): "Microsoft reserved",
    uuid.UUID("de94bba4-06d1-4d40-a16a-bfd50179d6ac"): "Windows recovery",
}


@dataclass(frozen=True)
class Partition:
    """One used entry of the partition array; ``number`` is its 1-based index there."""

    number: int
    type_guid: uuid.UUID
    partition_guid: uuid.UUID
    first_lba: int
    last_lba: int
    attributes: int
    name: str

    @property
    def start_lba(self) -> int:
        return self.first_lba

    @property
    def size_lba(self) -> int:
        return self.last_lba - self.first_lba + 1

    @property
    def is_esp(self) -> bool:
        return self.type_guid == ESP_TYPE

    @property
    def type_name(self) -> str | None:
        return PARTITION_TYPE_NAMES.get(self.type_guid)

    def hd_node(self) -> HardDriveNode:
        """The ``HD(number,GPT,partition guid,start,size)`` device-path node."""
        from efikit.codec.devpath import HardDriveNode

        return HardDriveNode.gpt(self.number, self.partition_guid, self.first_lba, self.size_lba)

    def hd_text(self) -> str:
        """The node in edk2's text form."""
        return self.hd_node().to_text()


@dataclass(frozen=True)
class GptDisk:
    """A parsed GPT. ``header_source`` is "primary" or "backup" (the primary was damaged)."""

    source: str
    sector_size: int
    disk_size: int
    disk_guid: uuid.UUID
    first_usable_lba: int
    last_usable_lba: int
    partitions: tuple[Partition, ...]
    header_source: str = "primary"
    warnings: tuple[str, ...] = field(default=())

    def partition(self, number: int) -> Partition:
        for part in self.partitions:
            if part.number == number:
                return part
        have = ", ".join(str(p.number) for p in self.partitions) or "none"
        raise DiskError(f"{self.source}: no partition {number} (partitions: {have})")

    def esp(self) -> Partition | None:
        """The first EFI System Partition, or None."""
        return next((p for p in self.partitions if p.is_esp), None)


@dataclass(frozen=True)
class _Header:
    my_lba: int
    alternate_lba: int
    first_usable: int
    last_usable: int
    disk_guid: uuid.UUID
    entries_lba: int
    entry_count: int
    entry_size: int
    entries_crc: int


class _Reader:
    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise _Bad(f"{length} bytes at offset {offset:#x} lie past the end of the disk")
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise _Bad(f"short read at offset {offset:#x}")
        return data


class _Bad(Exception):
    """Why one header candidate was rejected (internal)."""


def read_gpt(path: str | os.PathLike[str], sector_size: int | None = None) -> GptDisk:
    """Parse the GPT of an image file or block device."""
    source = str(path)
    try:  # a FIFO or character device (/dev/zero) is refused at open, before any read
        fd = fileio.open_regular(path, allow_block_device=True)
    except OSError as exc:
        raise DiskError(f"cannot open {source}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        size = os.lseek(fd, 0, os.SEEK_END)
        reader = _Reader(fd, size)
        if sector_size is None and stat.S_ISBLK(mode):
            sector_size = _device_sector_size(fd)
        return _parse(reader, source, sector_size)
    except OSError as exc:
        raise DiskError(f"cannot read {source}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _device_sector_size(fd: int) -> int | None:
    try:
        raw = fcntl.ioctl(fd, BLKSSZGET, bytes(4))
    except OSError:
        return None
    value = int(struct.unpack("<i", raw)[0])
    return value if value in SECTOR_SIZES else None


def _parse(reader: _Reader, source: str, sector_size: int | None) -> GptDisk:
    if reader.size < 512 * 3:
        raise DiskError(f"{source}: {reader.size} bytes is too small to hold a GPT")
    mbr = reader.read(0, 512)
    mbr_valid = mbr[510:512] == b"\x55\xaa"
    mbr_types = [mbr[446 + 16 * i + 4] for i in range(4)] if mbr_valid else []
    protective = 0xEE in mbr_types

    sizes = [sector_size] if sector_size else list(SECTOR_SIZES)
    for ss in sizes:
        if reader.size < ss * 3:
            continue
        signature_here = reader.read(ss, 8) == GPT_SIGNATURE
        if not signature_here and len(sizes) > 1:
            backup_lba = reader.size // ss - 1
            if reader.read(backup_lba * ss, 8) != GPT_SIGNATURE:
                continue
        return _parse_with(reader, source, ss, protective, mbr_valid)
    if mbr_valid and any(t not in (0, 0xEE) for t in mbr_types):
        listed = ", ".join(f"{t:#04x}" for t in mbr_types if t)
        raise DiskError(
            f"{source}: MBR-only disk (partition types {listed}), no GPT: HD() nodes for "
            "Boot#### entries need a GPT disk"
        )
    raise DiskError(
        f"{source}: no GPT found (no 'EFI PART' header at LBA 1 or the last LBA for sector "
        f"sizes {', '.join(str(s) for s in sizes)})"
    )


def _parse_with(
    reader: _Reader, source: str, ss: int, protective: bool, mbr_valid: bool
) -> GptDisk:
    warnings: list[str] = []
    if not mbr_valid:
        warnings.append("LBA 0 has no MBR boot signature (no protective MBR)")
    elif not protective:
        warnings.append("the MBR has no protective 0xEE entry (hybrid or damaged MBR)")
    last_lba = reader.size // ss - 1
    primary_error = backup_error = ""
    try:
        header, partitions = _read_table(reader, ss, 1, last_lba)
        used = "primary"
    except _Bad as exc:
        primary_error = str(exc)
        try:
            header, partitions = _read_table(reader, ss, last_lba, last_lba)
        except _Bad as exc:
            backup_error = str(exc)
            raise DiskError(
                f"{source}: corrupt GPT: primary header at LBA 1: {primary_error}; backup "
                f"header at LBA {last_lba}: {backup_error}"
            ) from None
        used = "backup"
        warnings.append(f"primary GPT is damaged ({primary_error}); using the backup")
    else:
        try:
            _read_table(reader, ss, header.alternate_lba, last_lba)
        except _Bad as exc:
            warnings.append(f"backup GPT at LBA {header.alternate_lba} is damaged ({exc})")
    warnings.extend(_placement_warnings(partitions, header, last_lba))
    return GptDisk(
        source=source,
        sector_size=ss,
        disk_size=reader.size,
        disk_guid=header.disk_guid,
        first_usable_lba=header.first_usable,
        last_usable_lba=header.last_usable,
        partitions=partitions,
        header_source=used,
        warnings=tuple(warnings),
    )


def _read_header(reader: _Reader, ss: int, lba: int, last_lba: int) -> _Header:
    if not 1 <= lba <= last_lba:
        raise _Bad(f"header LBA {lba} is outside the disk (last LBA {last_lba})")
    raw = reader.read(lba * ss, ss)
    (sig, revision, header_size, crc, _reserved, my_lba, alternate, first_usable, last_usable,
     disk_guid, entries_lba, count, entry_size, entries_crc) = HEADER.unpack_from(raw)
    if sig != GPT_SIGNATURE:
        raise _Bad(f"no 'EFI PART' signature (found {sig!r})")
    if not HEADER.size <= header_size <= ss:
        raise _Bad(f"HeaderSize {header_size} is not between 92 and the sector size {ss}")
    check = bytearray(raw[:header_size])
    check[16:20] = bytes(4)
    actual = zlib.crc32(check) & 0xFFFFFFFF
    if actual != crc:
        raise _Bad(f"header CRC32 is {crc:#010x} but the header sums to {actual:#010x}")
    if my_lba != lba:
        raise _Bad(f"MyLBA is {my_lba}, but the header is at LBA {lba}")
    if entry_size < ENTRY.size or entry_size % 8:
        raise _Bad(f"SizeOfPartitionEntry {entry_size} is not a multiple of 8 of at least 128")
    if count * entry_size > MAX_ENTRY_ARRAY:
        raise _Bad(f"{count} entries of {entry_size} bytes is implausibly large")
    if first_usable > last_usable or last_usable > last_lba:
        raise _Bad(f"usable LBAs {first_usable}..{last_usable} do not fit a disk of "
                   f"{last_lba + 1} sectors")
    del revision
    return _Header(my_lba, alternate, first_usable, last_usable, uuid.UUID(bytes_le=disk_guid),
                   entries_lba, count, entry_size, entries_crc)


def _read_entries(reader: _Reader, ss: int, header: _Header) -> bytes:
    raw = reader.read(header.entries_lba * ss, header.entry_count * header.entry_size)
    actual = zlib.crc32(raw) & 0xFFFFFFFF
    if actual != header.entries_crc:
        raise _Bad(
            f"partition entry array at LBA {header.entries_lba} has CRC32 {actual:#010x}, the "
            f"header says {header.entries_crc:#010x}"
        )
    return raw


def _read_table(reader: _Reader, ss: int, lba: int,
                last_lba: int) -> tuple[_Header, tuple[Partition, ...]]:
    """One copy of the GPT: the header at ``lba`` and its entry array, checked as a whole
    (CRCs and entries), so that a damaged copy gives way to the other one."""
    header = _read_header(reader, ss, lba, last_lba)
    return header, _partitions(_read_entries(reader, ss, header), header)


def _partitions(raw: bytes, header: _Header) -> tuple[Partition, ...]:
    out = []
    for index in range(header.entry_count):
        offset = index * header.entry_size
        type_raw, part_raw, first, last, attrs, name_raw = ENTRY.unpack_from(raw, offset)
        if type_raw == bytes(16):
            continue
        if first > last:
            raise _Bad(f"partition {index + 1} ends (LBA {last}) before it starts (LBA {first})")
        name = name_raw.decode("utf-16-le", "replace").split("\0", 1)[0]
        out.append(Partition(
            number=index + 1,
            type_guid=uuid.UUID(bytes_le=type_raw),
            partition_guid=uuid.UUID(bytes_le=part_raw),
            first_lba=first,
            last_lba=last,
            attributes=attrs,
            name=name,
        ))
    return tuple(out)


def _placement_warnings(partitions: tuple[Partition, ...], header: _Header,
                        last_lba: int) -> list[str]:
    """Partitions that reach past the disk, lie outside the usable LBAs or overlap: the
    table is still readable (and its HD() nodes exact), but the disk does not hold them."""
    warnings = []
    for part in partitions:
        where = f"partition {part.number} (LBA {part.first_lba}..{part.last_lba})"
        if part.last_lba > last_lba:
            warnings.append(f"{where} ends past the end of the disk (last LBA {last_lba})")
        elif part.first_lba < header.first_usable or part.last_lba > header.last_usable:
            warnings.append(f"{where} lies outside the usable LBAs {header.first_usable}.."
                            f"{header.last_usable}")
    ordered = sorted(partitions, key=lambda p: (p.first_lba, p.number))
    for before, after in zip(ordered, ordered[1:]):
        if after.first_lba <= before.last_lba:
            warnings.append(f"partitions {before.number} and {after.number} overlap (LBA "
                            f"{after.first_lba}..{min(before.last_lba, after.last_lba)})")
    return warnings


def find_partition(path: str | os.PathLike[str], number: int) -> Partition:
    """Partition ``number`` (1-based) of the disk at ``path``."""
    return read_gpt(path).partition(number)


__all__ = [
    "ESP_TYPE", "GptDisk", "Partition", "find_partition", "read_gpt",
]
