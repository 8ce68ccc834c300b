"""efibootmgr (libefivar, on a fake efivarfs) reads what boot ensure / dedupe / selection by
label left behind."""
from __future__ import annotations

from pathlib import Path

import pytest

from efikit.cli.main import main
from test_boot_peers import efibootmgr, populated
from test_boot_support import ESP

pytestmark = pytest.mark.peer


def efikit(directory: Path, *args: str) -> None:
    try:
        main(["--vars", str(directory), "boot", *args])
    except SystemExit as exc:
        assert exc.code in (0, None)


def test_efibootmgr_sees_ensure_dedupe_and_label_selection(tmp_path: Path) -> None:
    directory, _ = populated(tmp_path)  # Boot0000..0002 "Slot A", "Slot B", "Ünïcode label"
    loader = ESP + r"/\EFI\metropolis\boot-1.efi"  # what Boot0001 "Slot B" boots
    efikit(directory, "add", "-L", "copy", "--device-path", loader, "--allow-duplicate")
    efikit(directory, "next", "3")
    efikit(directory, "dedupe")
    efikit(directory, "ensure", "-L", "Slot B", "--device-path", loader, "--first")
    efikit(directory, "ensure", "-L", "Slot B", "--device-path", loader, "--first")
    efikit(directory, "deactivate", "--label", "Ünïcode label")
    lines = efibootmgr(directory).splitlines()
    assert lines == ["BootNext: 0001", "BootOrder: 0001,0000,0002",
                     "Boot0000* Slot A", "Boot0001* Slot B", "Boot0002  Ünïcode label"]
