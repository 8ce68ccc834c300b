"""GPT reader: images built here (512 and 4096-byte sectors) and by sgdisk, backup fallback,
corruption and MBR-only disks."""
from __future__ import annotations

import re
import struct
import subprocess
import uuid
import zlib
from pathlib import Path

import pytest

from conftest import require_tool
from efikit.disk.gpt import ESP_TYPE, LINUX_FS_TYPE, read_gpt
from efikit.errors import DiskError

DISK_GUID = uuid.UUID("11111111-2222-3333-4444-555555555555")
ESP_GUID = uuid.UUID("0e3c42e4-5c5e-4b5a-a05f-2a8a3b9a2c6a")
ROOT_GUID = uuid.UUID("9b8f0a7e-1c2d-4e3f-8a9b-0c1d2e3f4a5b")


def build_gpt(
    path: Path,
    sector: int = 512,
    sectors: int = 8192,
    parts: list[tuple[uuid.UUID, uuid.UUID, int, int, str]] | None = None,
    protective: bool = True,
) -> None:
    """Write a GPT disk image from the UEFI spec's layout (independent of the reader)."""
    if parts is None:
        parts = [(ESP_TYPE, ESP_GUID, 2048 // (sector // 512), 4095 // (sector // 512), "EFI"),
                 (LINUX_FS_TYPE, ROOT_GUID, 4096 // (sector // 512), sectors - 40, "root")]
    count, esize = 128, 128
    entries = bytearray(count * esize)
    for i, (t, g, first, last, name) in enumerate(parts):
        struct.pack_into("<16s16sQQQ72s", entries, i * esize, t.bytes_le, g.bytes_le, first,
                         last, 0, name.encode("utf-16-le"))
    entry_sectors = len(entries) // sector
    last_lba = sectors - 1
    image = bytearray(sectors * sector)
    if protective:
        struct.pack_into("<B3sB3sII", image, 446, 0, b"\0\x02\0", 0xEE, b"\xff\xff\xff", 1,
                         min(last_lba, 0xFFFFFFFF))
        image[510:512] = b"\x55\xaa"

    def header(my: int, alt: int, entries_lba: int) -> bytes:
        fields = [b"EFI PART", 0x10000, 92, 0, 0, my, alt, 2 + entry_sectors,
                  last_lba - 1 - entry_sectors, DISK_GUID.bytes_le, entries_lba, count, esize,
                  zlib.crc32(entries)]
        raw = struct.pack("<8sIIIIQQQQ16sQIII", *fields)
        fields[3] = zlib.crc32(raw)
        return struct.pack("<8sIIIIQQQQ16sQIII", *fields)

    image[sector:sector + 92] = header(1, last_lba, 2)
    image[2 * sector:2 * sector + len(entries)] = entries
    backup_entries = last_lba - entry_sectors
    image[backup_entries * sector:backup_entries * sector + len(entries)] = entries
    image[last_lba * sector:last_lba * sector + 92] = header(last_lba, 1, backup_entries)
    path.write_bytes(bytes(image))


@pytest.mark.parametrize("sector", [512, 4096])
def test_reads_both_sector_sizes(tmp_path: Path, sector: int) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, sector=sector)
    disk = read_gpt(img)
    assert disk.sector_size == sector
    assert disk.disk_guid == DISK_GUID
    assert disk.header_source == "primary" and disk.warnings == ()
    esp = disk.esp()
    assert esp is not None and esp.number == 1 and esp.name == "EFI"
    scale = sector // 512
    assert (esp.start_lba, esp.size_lba) == (2048 // scale, 2048 // scale)
    assert esp.hd_text() == (
        f"HD(1,GPT,0E3C42E4-5C5E-4B5A-A05F-2A8A3B9A2C6A,{hex(2048 // scale).upper().replace('X', 'x')},"
        f"{hex(2048 // scale).upper().replace('X', 'x')})"
    )
    node = esp.hd_node()
    assert node.partition_guid == ESP_GUID and node.partition_number == 1
    assert disk.partition(2).partition_guid == ROOT_GUID
    with pytest.raises(DiskError, match="no partition 3"):
        disk.partition(3)


def test_entry_numbers_keep_gaps(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    unused = uuid.UUID(int=0)
    build_gpt(img, parts=[(unused, ROOT_GUID, 0, 0, ""), (ESP_TYPE, ESP_GUID, 2048, 4095, "EFI")])
    disk = read_gpt(img)
    assert [p.number for p in disk.partitions] == [2]
    assert disk.esp().hd_text().startswith("HD(2,GPT,")  # type: ignore[union-attr]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("what,offset", [("header", 512 + 24), ("entries", 1024 + 40)])
def test_backup_fallback(tmp_path: Path, what: str, offset: int) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img)
    _flip(img, offset)
    disk = read_gpt(img)
    assert disk.header_source == "backup"
    assert any("primary GPT is damaged" in w and "CRC32" in w for w in disk.warnings)
    assert disk.esp().partition_guid == ESP_GUID  # type: ignore[union-attr]


def test_damaged_backup_is_a_warning(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img)
    _flip(img, 8191 * 512 + 24)
    disk = read_gpt(img)
    assert disk.header_source == "primary"
    assert any("backup GPT" in w for w in disk.warnings)


def test_both_headers_corrupt(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img)
    _flip(img, 512 + 24)
    _flip(img, 8191 * 512 + 24)
    with pytest.raises(DiskError, match=r"corrupt GPT: primary header at LBA 1: header CRC32"
                                        r".*backup header at LBA 8191: header CRC32"):
        read_gpt(img)


def test_no_protective_mbr_is_a_warning(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, protective=False)
    assert any("protective" in w for w in read_gpt(img).warnings)


def test_mbr_only_disk(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    image = bytearray(1024 * 1024)
    struct.pack_into("<B3sB3sII", image, 446, 0x80, b"\0\x21\0", 0x83, b"\xff\xff\xff", 2048,
                     1000)
    image[510:512] = b"\x55\xaa"
    img.write_bytes(bytes(image))
    with pytest.raises(DiskError, match=r"MBR-only disk \(partition types 0x83\)"):
        read_gpt(img)


def test_blank_and_tiny_and_missing(tmp_path: Path) -> None:
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(1024 * 1024))
    with pytest.raises(DiskError, match="no GPT found"):
        read_gpt(blank)
    tiny = tmp_path / "tiny.img"
    tiny.write_bytes(b"x")
    with pytest.raises(DiskError, match="too small"):
        read_gpt(tiny)
    with pytest.raises(DiskError, match="cannot open"):
        read_gpt(tmp_path / "missing.img")
    with pytest.raises(DiskError, match="directory"):
        read_gpt(tmp_path)


def test_bad_partition_range(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, parts=[(ESP_TYPE, ESP_GUID, 4000, 3000, "EFI")])
    with pytest.raises(DiskError, match="partition 1 ends .* before it starts"):
        read_gpt(img)


@pytest.mark.peer
def test_matches_sgdisk(tmp_path: Path) -> None:
    require_tool("sgdisk")
    img = tmp_path / "sg.img"
    with img.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    subprocess.run(["sgdisk", "-n", "1:2048:+32M", "-t", "1:ef00", "-c", "1:EFI system",
                    "-n", "2:0:0", "-t", "2:8300", str(img)], check=True, capture_output=True)
    disk = read_gpt(img)
    assert disk.warnings == ()
    for part in disk.partitions:
        info = subprocess.run(["sgdisk", "-i", str(part.number), str(img)], check=True,
                              capture_output=True, text=True).stdout
        guid = re.search(r"Partition unique GUID: (\S+)", info).group(1)  # type: ignore[union-attr]
        first = int(re.search(r"First sector: (\d+)", info).group(1))  # type: ignore[union-attr]
        size = int(re.search(r"Partition size: (\d+) sectors", info).group(1))  # type: ignore[union-attr]
        assert uuid.UUID(guid) == part.partition_guid
        assert (first, size) == (part.start_lba, part.size_lba)
    assert disk.partition(1).is_esp and not disk.partition(2).is_esp
    # sgdisk's own backup repair: zap the primary header and read through the backup
    _flip(img, 512 + 24)
    assert read_gpt(img).header_source == "backup"


def _rewrite_primary_entry(path: Path, index: int, first: int, last: int) -> None:
    """Change one entry of the primary array and make its CRCs right again: a copy that is
    consistent by checksum but wrong by content (as a buggy tool leaves it)."""
    data = bytearray(path.read_bytes())
    entries_at = 2 * 512
    struct.pack_into("<QQ", data, entries_at + index * 128 + 32, first, last)
    struct.pack_into("<I", data, 512 + 88, zlib.crc32(data[entries_at:entries_at + 128 * 128]))
    struct.pack_into("<I", data, 512 + 16, 0)
    struct.pack_into("<I", data, 512 + 16, zlib.crc32(data[512:512 + 92]))
    path.write_bytes(bytes(data))


def test_corrupt_primary_entries_fall_back_to_the_backup_array(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img)
    _rewrite_primary_entry(img, 0, 4000, 3000)
    disk = read_gpt(img)
    assert disk.header_source == "backup"
    assert any("primary GPT is damaged (partition 1 ends (LBA 3000) before it starts" in w
               for w in disk.warnings), disk.warnings
    esp = disk.esp()
    assert esp is not None and (esp.start_lba, esp.last_lba) == (2048, 4095)


def test_corrupt_entries_in_both_copies_name_both(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img)
    _rewrite_primary_entry(img, 0, 4000, 3000)
    _flip(img, 8191 * 512 + 24)
    with pytest.raises(DiskError, match=r"primary header at LBA 1: partition 1 ends .* before "
                                        r"it starts.*backup header at LBA 8191: header CRC32"):
        read_gpt(img)


def test_partition_past_the_end_of_the_disk_is_a_warning(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, parts=[(ESP_TYPE, ESP_GUID, 2048, 4095, "EFI"),
                          (LINUX_FS_TYPE, ROOT_GUID, 4096, 20000, "root")])
    disk = read_gpt(img)
    assert disk.header_source == "primary"
    assert "partition 2 (LBA 4096..20000) ends past the end of the disk (last LBA 8191)" \
        in disk.warnings
    assert disk.partition(2).last_lba == 20000  # still listed as the table says


def test_partition_outside_usable_lbas_and_overlaps_are_warnings(tmp_path: Path) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, parts=[(ESP_TYPE, ESP_GUID, 10, 4095, "EFI"),
                          (LINUX_FS_TYPE, ROOT_GUID, 4000, 8000, "root")])
    warnings = read_gpt(img).warnings
    assert "partition 1 (LBA 10..4095) lies outside the usable LBAs 34..8158" in warnings
    assert "partitions 1 and 2 overlap (LBA 4000..4095)" in warnings
    assert len(warnings) == 2


def test_disk_list_prints_placement_warnings(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from efikit.cli.main import cli

    img = tmp_path / "disk.img"
    build_gpt(img, parts=[(ESP_TYPE, ESP_GUID, 2048, 9000, "EFI")])
    result = CliRunner().invoke(cli, ["disk", "list", str(img)])
    assert result.exit_code == 0
    assert f"efikit: warning: {img}: partition 1 (LBA 2048..9000) ends past the end of the " \
        "disk (last LBA 8191)" in result.stderr
