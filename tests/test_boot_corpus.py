"""Every corpus machine's efivarfs dump lists through the boot manager, and matches the
efibootmgr -v renderings generated from the same files (tests/corpus/text/)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import CORPUS
from efikit.boot import BootManager
from efikit.vars.efivarfs import EfivarfsStore
from test_boot_libefivar import libefivar_spelling
from test_boot_support import MACHINE_COUNT, MACHINES, copy_machine

ENTRY_LINE = re.compile(r"^Boot[0-9A-F]{4}[* ] ")


def test_every_machine_is_there_with_its_efibootmgr_rendering() -> None:
    assert len(MACHINES) == MACHINE_COUNT
    for machine in MACHINES:
        assert (CORPUS / "text" / f"{machine.name}.efibootmgr-v.txt").is_file(), machine.name


@pytest.mark.parametrize("machine", MACHINES, ids=lambda p: p.name)
def test_machine_lists_without_error(machine: Path, tmp_path: Path) -> None:
    status = BootManager(EfivarfsStore(copy_machine(machine, tmp_path))).status()
    assert status.entries
    assert status.problems == ()
    assert all(e.ok for e in status.entries)


def _efibootmgr_lines(machine: Path) -> list[str]:
    text = CORPUS / "text" / f"{machine.name}.efibootmgr-v.txt"
    return text.read_text().splitlines()


@pytest.mark.parametrize("machine", MACHINES, ids=lambda p: p.name)
def test_matches_efibootmgr_rendering(machine: Path, tmp_path: Path) -> None:
    status = BootManager(EfivarfsStore(copy_machine(machine, tmp_path))).status()
    reference = _efibootmgr_lines(machine)
    headers = [line for line in reference if not ENTRY_LINE.match(line)]
    expected_headers = []
    if status.boot_current is not None:
        expected_headers.append(f"BootCurrent: {status.boot_current:04X}")
    if status.timeout is not None:
        expected_headers.append(f"Timeout: {status.timeout} seconds")
    if status.order is not None:
        expected_headers.append("BootOrder: " + ",".join(f"{n:04X}" for n in status.order))
    else:
        expected_headers.append("No BootOrder is set; firmware will attempt recovery")
    assert headers == expected_headers

    entries = [line for line in reference if line not in headers]
    assert len(entries) == len(status.entries)
    for line, entry in zip(entries, status.entries):
        assert entry.option is not None
        head, path_and_data = line.split("\t", 1)
        mark = "*" if entry.option.active else " "
        assert head == f"{entry.name}{mark} {entry.option.description}"
        assert entry.option.device_path is not None
        # libefivar prints optional data glued to the path, so the path is a prefix
        assert path_and_data.startswith(libefivar_spelling(entry.option.device_path))
