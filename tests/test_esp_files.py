"""ESP files stay on the ESP: no '..' above the root, no symbolic link followed (a directory
ESP), and a disk image whose name mtools could misread ('@@') is still the one written."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import require_tool
from efikit.disk.esp import DirectoryEsp, ImageEsp, esp_parts
from efikit.errors import DiskError

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample-machine"
ESP_OFFSET = 1048576  # partition 1 of the sample disk starts at LBA 2048
ESP_SIZE = 12288 * 512
LOADER = "\\EFI\\metropolis\\boot-a.efi"


def make_dir_esp(tmp_path: Path) -> DirectoryEsp:
    root = tmp_path / "esp"
    (root / "EFI" / "metropolis").mkdir(parents=True)
    (root / "EFI" / "metropolis" / "boot-a.efi").write_bytes(b"loader A")
    return DirectoryEsp(root)


def tree(path: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(path.rglob("*")):
        key = str(p.relative_to(path))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = p.read_bytes()
    return out


def test_dot_dot_is_resolved_by_name_and_never_climbs_out() -> None:
    assert esp_parts("\\EFI\\x\\..\\metropolis\\.\\boot-a.efi") == ["EFI", "metropolis",
                                                                    "boot-a.efi"]
    with pytest.raises(ValueError):
        esp_parts("\\..\\..\\etc\\passwd")


def test_directory_esp_reads_nothing_above_its_root(tmp_path: Path) -> None:
    esp = make_dir_esp(tmp_path)
    (tmp_path / "secret").write_bytes(b"outside")
    for path in ("\\..\\secret", "\\EFI\\..\\..\\secret", "/../secret",
                 "\\..\\..\\..\\..\\..\\etc\\passwd"):
        assert esp.read(path) is None and esp.size(path) is None and not esp.exists(path)
    assert esp.list_files("\\..") == []
    assert esp.read("\\EFI\\BOOT\\..\\metropolis\\BOOT-A.EFI") == b"loader A"


def test_directory_esp_refuses_to_write_above_its_root(tmp_path: Path) -> None:
    esp = make_dir_esp(tmp_path)
    before = tree(tmp_path)
    for path in ("\\..\\evil.efi", "\\EFI\\..\\..\\evil.efi", "\\..\\esp\\EFI\\x.efi"):
        with pytest.raises(DiskError, match="above the ESP's root"):
            esp.replace(path, b"evil")
    assert tree(tmp_path) == before


def test_directory_symlink_inside_the_esp_is_not_followed(tmp_path: Path) -> None:
    esp = make_dir_esp(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "boot-b.efi").write_bytes(b"outside B")
    (esp.root / "EFI" / "vendor").symlink_to(outside)
    (esp.root / "EFI" / "BOOT").symlink_to("metropolis")  # even one that stays inside
    before = tree(tmp_path)
    for path in ("\\EFI\\vendor\\boot-b.efi", "\\EFI\\vendor\\BOOTX64.CSV",
                 "\\EFI\\BOOT\\BOOTX64.EFI"):
        with pytest.raises(DiskError, match="symbolic link"):
            esp.replace(path, b"new")
    with pytest.raises(DiskError, match="symbolic link"):
        esp.read("\\EFI\\vendor\\boot-b.efi")
    with pytest.raises(DiskError, match="symbolic link"):
        esp.list_files("\\EFI\\VENDOR")
    assert tree(tmp_path) == before


def test_file_symlink_inside_the_esp_is_neither_read_nor_replaced(tmp_path: Path) -> None:
    esp = make_dir_esp(tmp_path)
    (tmp_path / "secret").write_bytes(b"outside")
    link = esp.root / "EFI" / "metropolis" / "boot-b.efi"
    link.symlink_to(tmp_path / "secret")
    before = tree(tmp_path)
    with pytest.raises(DiskError, match="symbolic link"):
        esp.read("\\EFI\\metropolis\\boot-b.efi")
    with pytest.raises(DiskError, match="symbolic link"):
        esp.replace("\\EFI\\metropolis\\BOOT-B.EFI", b"new")
    assert tree(tmp_path) == before
    assert esp.list_files("\\EFI\\metropolis") == ["boot-a.efi"]


def test_directory_esp_still_creates_and_replaces(tmp_path: Path) -> None:
    esp = make_dir_esp(tmp_path)
    esp.replace("\\EFI\\metropolis\\BOOT-A.EFI", b"new A")  # case-insensitive: same file
    esp.replace("\\efi\\newvendor\\sub\\x.efi", b"x")
    assert tree(esp.root) == {"EFI/metropolis/boot-a.efi": b"new A",
                              "EFI/newvendor/sub/x.efi": b"x"}


# --- a disk image through mtools ------------------------------------------------------------

@pytest.fixture
def tools() -> None:
    require_tool("mcopy", "mdir", "mdel", "mren", "mmd")


def test_image_name_with_at_at_is_the_file_written(tmp_path: Path, tools: None) -> None:
    """mtools reads 'IMAGE@@OFFSET': 'd@@0.img' once meant the file 'd' at offset '0.img'."""
    disk = tmp_path / "d@@0.img"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    decoy = tmp_path / "d"  # a bare FAT at offset 0, where the misread name points
    with (SAMPLE / "disk.img").open("rb") as f:
        f.seek(ESP_OFFSET)
        decoy.write_bytes(f.read(ESP_SIZE))
    decoy_before = decoy.read_bytes()
    esp = ImageEsp(disk, ESP_OFFSET)
    esp.replace(LOADER, b"new loader")
    assert esp.read(LOADER) == b"new loader"
    assert decoy.read_bytes() == decoy_before
    assert ImageEsp(decoy, 0).read(LOADER) != b"new loader"
    # and the image really changed, read by mtools under a plain name
    plain = tmp_path / "plain.img"
    shutil.copyfile(disk, plain)
    assert ImageEsp(plain, ESP_OFFSET).read(LOADER) == b"new loader"


def test_image_esp_refuses_paths_above_the_root(tmp_path: Path, tools: None) -> None:
    disk = tmp_path / "disk.img"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    before = disk.read_bytes()
    esp = ImageEsp(disk, ESP_OFFSET)
    assert esp.read("\\..\\EFI\\metropolis\\boot-a.efi") is None
    assert esp.read("\\EFI\\BOOT\\..\\metropolis\\boot-a.efi") is not None
    with pytest.raises(DiskError, match="above the ESP's root"):
        esp.replace("\\..\\x.efi", b"x")
    assert disk.read_bytes() == before
