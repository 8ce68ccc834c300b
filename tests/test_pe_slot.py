"""`efikit pe slot` and efikit.pe.slot: the seed's rule over paths and device-path text."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from efikit.pe.slot import _split_nodes_minimal, slot_for

HD = "HD(1,GPT,0FC63DAF-8483-4772-8E79-3D69D8477DE4,0x800,0x100000)"


@pytest.mark.parametrize("text,expected", [
    ("\\EFI\\metropolis\\boot-a.efi", "A"),
    ("\\EFI\\metropolis\\boot-b.efi", "B"),
    ("\\EFI\\metropolis\\BOOT-B.EFI", "B"),
    ("esp/EFI/metropolis/boot-b.efi", "B"),            # forward slashes
    ("\\EFI\\BOOT\\BOOTX64.EFI", "A (default)"),
    ("boot-b.efi.old", "A (default)"),
    ("\\EFI\\boot-b.efi\\grubx64.efi", "A (default)"),  # only the file name counts
    ("xboot-b.efi", "B"),                              # suffix, as the seed's loader
    (f"{HD}/\\EFI\\metropolis\\boot-b.efi", "B"),
    (f"PciRoot(0x0)/Pci(0x1,0x1)/{HD}/\\EFI\\metropolis\\boot-a.efi", "A"),
    (f"{HD}/\\EFI\\metropolis/boot-b.efi", "B"),       # split over two FILEPATH nodes
    (f"{HD}/\\EFI\\metropolis\\boot-b.efi/\\other.efi", "A (default)"),  # last node only
    (f"{HD}/File(\\EFI\\metropolis\\boot-b.efi)", "B"),
    (f"{HD}/EFI/metropolis/boot-b.efi", "B"),
    (HD, "A (default)"),                              # no FILEPATH node at all
])
def test_slot_rule(text: str, expected: str) -> None:
    assert str(slot_for(text).result) == expected


def test_device_path_nodes_are_reported() -> None:
    lookup = slot_for(f"{HD}/\\EFI\\metropolis/boot-b.efi")
    assert lookup.kind == "device-path"
    assert lookup.file_path_nodes[-1] == "boot-b.efi"
    assert slot_for("boot-b.efi").kind == "path"


def test_minimal_split_keeps_parentheses() -> None:
    assert _split_nodes_minimal("A(1/2)/B(3)/\\x") == ["A(1/2)", "B(3)", "\\x"]


@pytest.mark.parametrize("text,line", [
    (f"{HD}/\\EFI\\metropolis\\boot-b.efi", "B"),
    ("/boot/efi/EFI/BOOT/BOOTX64.EFI", "A (default)"),
])
def test_cli(text: str, line: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "efikit", "pe", "slot", text],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == line + "\n"


def test_cli_json() -> None:
    proc = subprocess.run([sys.executable, "-m", "efikit", "pe", "slot", "--json",
                           "\\EFI\\metropolis\\boot-a.efi"], capture_output=True, text=True)
    doc = json.loads(proc.stdout)
    assert doc["slot"] == "A" and doc["default"] is False and doc["file_name"] == "boot-a.efi"
